// Niceties on top of pages that work without JavaScript.
"use strict";

// The dashboard's search filters the list as you type.
(() => {
  const search = document.getElementById("q");
  const list = document.getElementById("monitors");
  if (!search || !list) return;
  search.addEventListener("input", () => {
    const needle = search.value.trim().toLowerCase();
    for (const item of list.querySelectorAll("[data-search]")) {
      item.hidden = needle !== "" && !item.dataset.search.includes(needle);
    }
  });
})();
