// optional keyboard navigation; every action also works as a plain form without this file
(function () {
  "use strict";
  function cards() { return Array.prototype.slice.call(document.querySelectorAll("article.candidate")); }
  function current(list) {
    var active = document.activeElement;
    for (var i = 0; i < list.length; i++) { if (list[i].contains(active)) { return i; } }
    return -1;
  }
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    if (target && /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) {
      if (event.key === "Escape") { target.blur(); }
      return;
    }
    var list = cards();
    if (!list.length) { return; }
    var index = current(list);
    if (event.key === "j" || event.key === "k") {
      var next = event.key === "j" ? Math.min(index + 1, list.length - 1) : Math.max(index - 1, 0);
      list[next].focus();
      list[next].scrollIntoView({ block: "start" });
      event.preventDefault();
    } else if (event.key === "i" && index >= 0) {
      var impact = list[index].querySelector("textarea[name=impact]");
      if (impact) { impact.focus(); event.preventDefault(); }
    }
  });
})();
