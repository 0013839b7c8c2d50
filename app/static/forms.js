// The pages' forms (_macros.html form_head). A form that came back with errors starts at its first
// error, focused (a long sheet would otherwise reload at its top), and the summary's links lead to each
// wrong field; a long list of choices (select[data-filter]) gets a box that filters it.
(function () {
  "use strict";
  const FIELDS = "input:not([type=hidden]), select, textarea";
  const filterLabel = document.currentScript.dataset.filterLabel;

  function goTo(id) {
    const target = document.getElementById(id);
    if (!target) return false;
    const field = target.matches(FIELDS) ? target : target.querySelector(FIELDS);
    (field || target).focus({ preventScroll: true });
    target.scrollIntoView({ block: "center" });
    return true;
  }

  function addFilter(select) {
    const box = document.createElement("input");
    box.type = "search";
    box.className = "form-control form-control-sm mb-1";
    box.placeholder = filterLabel;
    box.setAttribute("aria-label", filterLabel);
    box.setAttribute("aria-controls", select.id);
    box.dataset.filterFor = select.id;
    select.before(box);
    box.addEventListener("input", () => {
      const words = box.value.trim().toLowerCase();
      for (const option of select.options) {
        const away = option.value !== "" && words !== "" && !option.text.toLowerCase().includes(words);
        option.hidden = away;
        option.disabled = away; // a phone's picker may show hidden options: it cannot pick them
      }
      for (const group of select.querySelectorAll("optgroup")) {
        group.hidden = Array.from(group.children).every((option) => option.hidden);
      }
    });
  }

  document.querySelectorAll("select[data-filter]").forEach(addFilter);

  const summary = document.querySelector("[data-testid=error-summary]");
  if (summary) {
    summary.addEventListener("click", (event) => {
      const link = event.target.closest("a[href^='#']");
      if (link && goTo(link.getAttribute("href").slice(1))) event.preventDefault();
    });
    const first = summary.querySelector("a[href^='#']");
    if (!first || !goTo(first.getAttribute("href").slice(1))) summary.focus();
  }
})();
