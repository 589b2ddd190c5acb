// The console's only script (no inline scripts anywhere, so a strict Content-Security-Policy holds).
// 1. A solve's progress: poll the job fragment until the job is done, then reload to show the result.
// 2. Long pick lists: a search box filters the checkboxes of its fieldset.
"use strict";

function pollJob(box) {
  const url = box.getAttribute("data-poll-url");
  const tick = async () => {
    const response = await fetch(url, { headers: { "Accept": "text/html" }, credentials: "same-origin" });
    if (!response.ok) return;
    const holder = document.createElement("div");
    holder.innerHTML = await response.text();
    const fresh = holder.querySelector("[data-job-state]");
    if (!fresh) return;
    const state = fresh.getAttribute("data-job-state");
    box.replaceWith(fresh);
    box = fresh;
    if (state === "done") {
      window.location.reload();
    } else if (state === "queued" || state === "running") {
      window.setTimeout(tick, 700);
    }
  };
  window.setTimeout(tick, 500);
}

function filterable(fieldset) {
  const input = fieldset.querySelector(".pick-filter");
  if (!input) return;
  input.addEventListener("input", () => {
    const needle = input.value.trim().toLowerCase();
    for (const item of fieldset.querySelectorAll(".pick-item")) {
      item.hidden = needle !== "" && !item.textContent.toLowerCase().includes(needle);
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  for (const box of document.querySelectorAll("[data-job-state='queued'], [data-job-state='running']")) {
    pollJob(box);
  }
  for (const fieldset of document.querySelectorAll("[data-filterable]")) {
    filterable(fieldset);
  }
});
