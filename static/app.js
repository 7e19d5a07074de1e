// Niceties on top of pages that work without JavaScript.
"use strict";

// The dashboard's search filters the list as you type.
const search = document.getElementById("q");
function filterList() {
  const list = document.getElementById("monitors");
  if (!search || !list) return;
  const needle = search.value.trim().toLowerCase();
  for (const item of list.querySelectorAll(".monitor")) {
    const title = item.querySelector(".title");
    item.hidden = needle !== "" && !title.textContent.toLowerCase().includes(needle);
  }
}
if (search) search.addEventListener("input", filterList);

// A page's live part is kept current by the server: asked for with the page's own address, it
// sends the whole part ("page") or the elements that changed, each replacing the one with its
// id ("pieces"). The browser reconnects by itself after a network error.
(() => {
  const part = document.querySelector("[data-live]");
  if (!part || !window.EventSource) return;
  const source = new EventSource(location.href);
  const parse = (html) => {
    const template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  };
  source.addEventListener("page", (e) => {
    part.replaceChildren(parse(e.data));
    filterList();
  });
  source.addEventListener("pieces", (e) => {
    for (const piece of Array.from(parse(e.data).children)) {
      const old = piece.id && document.getElementById(piece.id);
      if (old) old.replaceWith(piece);
    }
    filterList();
  });
  // Leaving the page closes the stream at once instead of when the browser gets to it.
  addEventListener("pagehide", () => source.close());
})();

// The monitor form shows only the settings of the kind chosen; without JavaScript it shows all
// of them and the server keeps those of the kind.
(() => {
  const kind = document.getElementById("kind");
  if (!kind) return;
  const show = () => {
    for (const field of document.querySelectorAll("[data-kinds]")) {
      field.hidden = !field.dataset.kinds.split(" ").includes(kind.value);
    }
  };
  kind.addEventListener("change", show);
  show();
})();
