/* Conversation pages ("Try it" and an agent's conversation), enhanced when scripts run: every few seconds the page
   is read again and the parts that change (the messages, the question's choices, the steps taken, the diagram)
   are replaced in place, so the bot's replies appear without pressing "Refresh". Without scripts the page works
   the same with its Refresh link. It stops when the page says there is nothing more to wait for
   (data-poll="off"), after ten minutes, or when the tab is hidden. */
(function () {
  "use strict";
  var root = document.querySelector("[data-poll]");
  if (!root || !window.fetch || !window.DOMParser) { return; }
  var PARTS = ["chat-status", "chat-log", "chat-prompt", "history", "diagram", "thread", "conversation-header"];
  var EVERY = 2000;
  var LIMIT = Date.now() + 10 * 60 * 1000;
  var timer = null;

  function swap(fresh) {
    PARTS.forEach(function (id) {
      var now = document.getElementById(id);
      var next = fresh.getElementById(id);
      if (now && next && now.innerHTML !== next.innerHTML) {
        now.innerHTML = next.innerHTML; // the element stays, so a live region keeps announcing
      }
    });
  }

  function poll() {
    timer = null;
    if (document.hidden || Date.now() > LIMIT) { return; }
    fetch(window.location.pathname, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (answer) { return answer.ok ? answer.text() : Promise.reject(answer.status); })
      .then(function (text) {
        var fresh = new DOMParser().parseFromString(text, "text/html");
        swap(fresh);
        var state = fresh.querySelector("[data-poll]");
        if (state && state.getAttribute("data-poll") === "on") { timer = setTimeout(poll, EVERY); }
      })
      .catch(function () { timer = setTimeout(poll, EVERY * 3); });
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && timer === null && root.getAttribute("data-poll") === "on") { poll(); }
  });
  if (root.getAttribute("data-poll") === "on") { timer = setTimeout(poll, EVERY); }
}());
