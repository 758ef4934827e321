// Progressive enhancement only: every page works without this file.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  // Filter forms apply as soon as a menu changes.
  document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // Long diffs: offer to hide the unchanged lines.
  document.querySelectorAll("table[data-diff]").forEach(function (table) {
    var same = table.querySelectorAll("tr.diff-same").length;
    if (same < 12) { return; }
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button secondary small";
    button.textContent = "Show only changed lines";
    button.addEventListener("click", function () {
      var collapsed = table.classList.toggle("collapsed");
      button.textContent = collapsed ? "Show all lines" : "Show only changed lines";
    });
    table.parentNode.insertBefore(button, table);
  });

  // Copy buttons on exported files.
  if (navigator.clipboard) {
    document.querySelectorAll("pre[data-copyable]").forEach(function (pre) {
      var text = pre.textContent;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button secondary small copy";
      button.textContent = "Copy";
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(text).then(function () {
          button.textContent = "Copied";
        });
      });
      pre.appendChild(button);
    });
  }

  // Opening one decision closes the others.
  var decisions = document.querySelectorAll("details.confirm");
  decisions.forEach(function (details) {
    details.addEventListener("toggle", function () {
      if (!details.open) { return; }
      decisions.forEach(function (other) { if (other !== details) { other.open = false; } });
    });
  });
});
