"use strict";
// Progressive enhancement: a Run button per example sends it to this same
// server (the page's own path) and shows the live answer next to the expected one.
for (const ex of document.querySelectorAll("article.example")) {
  const btn = ex.querySelector("button.run");
  if (!btn) continue;
  btn.hidden = false;
  btn.addEventListener("click", async () => {
    const body = ex.querySelector("textarea.body");
    const q = ex.dataset.query;
    const init = { method: ex.dataset.method, headers: {} };
    if (body) {
      init.body = body.value;
      init.headers["Content-Type"] = "application/json";
    }
    const live = ex.querySelector(".live");
    const out = live.querySelector("pre.actual");
    const st = live.querySelector(".live-status");
    btn.disabled = true;
    try {
      const res = await fetch(location.pathname + (q ? "?" + q : ""), init);
      const text = await res.text();
      let shown = text;
      try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON: show as is */ }
      st.textContent = String(res.status);
      st.className = "live-status status s" + String(res.status).charAt(0);
      out.textContent = shown;
      ex.dataset.liveStatus = String(res.status);
    } catch (e) {
      st.textContent = "request failed";
      out.textContent = String(e);
      ex.dataset.liveStatus = "error";
    }
    live.hidden = false;
    btn.disabled = false;
  });
}
