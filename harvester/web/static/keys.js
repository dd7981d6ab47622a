// Optional keyboard triage. Every action is also a plain form that works without this file;
// the keys only press those forms' buttons and open their <details>.
(function () {
  "use strict";

  function cards() { return Array.prototype.slice.call(document.querySelectorAll("article.candidate")); }

  function currentIndex(list) {
    var active = document.activeElement;
    for (var i = 0; i < list.length; i++) { if (list[i].contains(active)) { return i; } }
    return -1;
  }

  function show(card) {
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest" });
  }

  function open(card, selector) {
    var details = card.querySelector(selector);
    if (details) { details.open = true; }
    return details;
  }

  function focusField(card, name, select) {
    var details = open(card, "details.edit");
    var field = details && details.querySelector("[name=" + name + "]");
    if (!field) { return false; }
    field.focus();
    if (select) { field.select(); }
    return true;
  }

  function press(card, key) {
    var button = card.querySelector("button[data-key=" + key + "]");
    if (button) { button.click(); }
    return Boolean(button);
  }

  function undoLast() {
    var undo = document.getElementById("undo-last");
    if (undo) { undo.requestSubmit(); }
    return Boolean(undo);
  }

  // the merge list: typing filters it; when one candidate is left it is chosen, so Enter merges it
  function filterChoices(input) {
    var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = [];
    Array.prototype.forEach.call(input.form.querySelectorAll("label.choice"), function (label) {
      var text = label.textContent.toLowerCase();
      var match = words.every(function (word) { return text.indexOf(word) >= 0; });
      label.hidden = !match;
      if (match) { shown.push(label); }
    });
    if (shown.length === 1) { shown[0].querySelector("input").checked = true; }
  }

  function actOn(card, key) {
    if (key === "a" || key === "x") { return press(card, key); }
    if (key === "u") { return press(card, "u") || undoLast(); }
    if (key === "e") { return focusField(card, "title", true); }
    if (key === "i") { return focusField(card, "impact", false); }
    if (key === "m") {
      var merge = open(card, "details.merge");
      var filter = merge && merge.querySelector("input.filter");
      if (filter) { filter.focus(); }
      return Boolean(filter);
    }
    if (key === "s") {
      open(card, "details.evidence");
      var split = card.querySelector("button.split");
      if (split) { split.focus(); }
      return Boolean(split);
    }
    return false;
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("input.filter")) { filterChoices(event.target); }
  });

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.altKey || event.metaKey) { return; }
    if (target && /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) {
      if (event.key === "Escape") {
        target.blur();
        var card = target.closest("article.candidate");
        if (card) { card.focus({ preventScroll: true }); }
      } else if (event.key === "Enter" && event.ctrlKey && target.form) {
        target.form.requestSubmit();
        event.preventDefault();
      }
      return;
    }
    if (event.ctrlKey || document.querySelector("dialog[open]")) { return; }
    if (event.key === "?") {
      var keys = document.getElementById("keys");
      if (keys && !keys.open) { keys.showModal(); }
      event.preventDefault();
      return;
    }
    var list = cards();
    var index = currentIndex(list);
    if (index < 0 && event.key === "u") {
      if (undoLast()) { event.preventDefault(); }
      return;
    }
    if (!list.length) { return; }
    if (event.key === "j" || event.key === "k") {
      var next = event.key === "j" ? Math.min(index + 1, list.length - 1) : Math.max(index - 1, 0);
      show(list[next]);
      event.preventDefault();
    } else if (index >= 0 && actOn(list[index], event.key)) {
      event.preventDefault();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    // the filter needs this script; without it the list is a plain set of radio buttons
    Array.prototype.forEach.call(document.querySelectorAll("label.filter[hidden]"), function (label) {
      label.hidden = false;
    });
  });
})();
