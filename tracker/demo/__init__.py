"""The demo database (DESIGN §4 `tracker demo`), built through the services and loaders as a user would:
accounts, the seed guidelines, projects at every stage, report histories."""
