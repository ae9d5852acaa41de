"use strict";
// Progressive enhancement only: every page works without this script.

// A copy button next to each command.
if (navigator.clipboard) {
  for (const code of document.querySelectorAll("code.cmd")) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "copy";
    b.textContent = "copy";
    b.addEventListener("click", () => {
      navigator.clipboard.writeText(code.textContent).then(() => { b.textContent = "copied"; }, () => { b.textContent = "select and copy"; });
    });
    code.after(b);
  }
}

// Sortable tables sort in place (the header links still work without it).
for (const table of document.querySelectorAll("table.sortable")) {
  const heads = Array.from(table.tHead.rows[0].cells);
  heads.forEach((th, col) => {
    const a = th.querySelector("a[data-key]");
    if (!a) return;
    a.addEventListener("click", (ev) => {
      ev.preventDefault();
      const numeric = th.classList.contains("num");
      const desc = !(th.classList.contains("sorted") && th.dataset.dir === "desc");
      const value = (tr) => {
        const td = tr.cells[col];
        const v = td.dataset.v !== undefined ? td.dataset.v : td.textContent.trim();
        return numeric ? parseFloat(v.replace(/,/g, "")) : v;
      };
      const rows = Array.from(table.tBodies[0].rows);
      rows.sort((x, y) => {
        const a1 = value(x), b1 = value(y);
        const c = numeric ? (isNaN(a1) ? -Infinity : a1) - (isNaN(b1) ? -Infinity : b1) : String(a1).localeCompare(String(b1));
        return desc ? -c : c;
      });
      for (const r of rows) table.tBodies[0].appendChild(r);
      for (const h of heads) {
        h.classList.remove("sorted");
        delete h.dataset.dir;
        const l = h.querySelector("a[data-key]");
        if (l) l.textContent = l.textContent.replace(/ [▲▼]$/, "");
      }
      th.classList.add("sorted");
      th.dataset.dir = desc ? "desc" : "asc";
      a.textContent += desc ? " ▼" : " ▲";
      const q = new URLSearchParams(location.search);
      q.set("sort", a.dataset.key);
      q.set("dir", desc ? "desc" : "asc");
      history.replaceState(null, "", "?" + q.toString());
    });
  });
}
