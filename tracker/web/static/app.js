// Progressive enhancement only: every page works without this file.

// Filters that fold on a phone stand open on a wider screen.
document.addEventListener("DOMContentLoaded", function () {
  if (window.matchMedia("(min-width: 40.01rem)").matches) {
    document.querySelectorAll("details.filters-fold").forEach(function (d) { d.open = true; });
  }
});
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
