"""Pure domain logic (no database, no web), arranged by what it does (DESIGN §3):

- `reading/`: guideline clauses into targets (numbers, units, comparators, categories, qualitative wording);
- `rules/`: what a direction asks of its projects (selection of targets, funding, implementation period);
- `assessment/`: a project measured against its targets (progress, reported values);
- helpers the rest shares: `identifiers` (统一社会信用代码), `evidence_ids` (patent, standard, DOI… numbers),
  `regions` (division codes → city), `workdays` (working days and the reporting calendar).
"""
