// Keyboard shortcuts for the annotation page: every answer has a key (shown on its button).
// A ranking is built with the digit keys (the page position of the next best response).
(function () {
  "use strict";
  function typing(target) {
    return target && (target.tagName === "TEXTAREA" || target.tagName === "INPUT") &&
      target.type !== "radio";
  }
  function click(selector) {
    var element = document.querySelector(selector);
    if (element) { element.click(); return true; }
    return false;
  }
  function rankingInput() { return document.getElementById("ranking"); }
  function showRanks() {
    var input = rankingInput();
    if (!input) { return; }
    var order = input.value.split(/[^0-9]+/).filter(Boolean);
    document.querySelectorAll(".response[data-position]").forEach(function (item) {
      var place = order.indexOf(item.dataset.position);
      item.classList.toggle("ranked", place >= 0);
      item.querySelector(".rank").textContent = place >= 0 ? "#" + (place + 1) : "";
    });
  }
  function rankKey(key) {
    var input = rankingInput();
    var order = input.value.split(/[^0-9]+/).filter(Boolean);
    if (key === "Backspace") { order.pop(); }
    else if (document.querySelector('.response[data-position="' + key + '"]') &&
             order.indexOf(key) < 0) { order.push(key); }
    else { return false; }
    input.value = order.join(" ");
    showRanks();
    return true;
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var form = document.getElementById("judge");
    var ranking = form && form.classList.contains("ranking");
    var key = event.key;
    var done = false;
    if (ranking && (/^[0-9]$/.test(key) || key === "Backspace")) { done = rankKey(key); }
    else if (!ranking && key === "ArrowLeft") { done = click('[data-key="a"]'); }
    else if (!ranking && key === "ArrowRight") { done = click('[data-key="b"]'); }
    else if (!ranking && /^[123]$/.test(key)) { done = click('input[data-key="' + key + '"]'); }
    else if (key === "Enter" && ranking) { done = click('[data-key="Enter"]'); }
    else if (key.length === 1) { done = click('button[data-key="' + key.toLowerCase() + '"]'); }
    if (done) { event.preventDefault(); }
  });
  document.addEventListener("input", function (event) {
    if (event.target === rankingInput()) { showRanks(); }
  });
})();
