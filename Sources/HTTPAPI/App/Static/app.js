// Shequ residents' app: live updates from the member's event stream, offline drafts, the browser's location.
// Every page works without this script; it only makes pages update themselves and keeps writes made without signal.
(function () {
  "use strict";
  var body = document.body;
  var notice = document.getElementById("notice");
  function tell(text) { if (notice && text) { notice.textContent = text; notice.hidden = false; } }

  // Live: a page names what it shows (data-live="ticket:t_…", "member:m_…", "board:slug", "polls", "tickets");
  // when an event touches it, the page reloads itself (it is rendered on the server with the member's rights).
  // A form being sent: the page is about to move on by itself, and a live reload now would lose where it goes.
  var sending = false;
  document.addEventListener("submit", function () { sending = true; }, true);

  // Every signed-in page listens (for the inbox's count in the tabs); a page that names what it shows also reloads.
  var live = body.dataset.live || (document.getElementById("inbox-tab") ? "none" : "");
  if (live && window.EventSource) {
    var parts = live.split(":"), what = parts[0], id = parts.slice(1).join(":");
    var source = new EventSource("/v1/me/events");
    var pending = null;
    function touches(change) {
      switch (what) {
        case "ticket": return change.entity === id || change.parent === id;
        case "member": return change.kind === "member" && change.entity === id;
        case "post": return change.entity === id || change.parent === id;
        case "poll": return change.entity === id || change.parent === id;
        case "board": return change.kind === "post";
        case "polls": return change.kind === "poll" || change.kind === "ballot";
        case "tickets": return change.kind === "ticket" || change.kind === "ticket_event";
        case "topic": return change.entity === id || change.parent === id;
        case "topics": return change.kind === "topic";
        case "queue": return change.entity === id || change.parent === id;
        case "messages": return change.kind === "message";
        case "committee": return ["member", "ticket", "ticket_event", "message", "post", "comment", "poll", "signup", "booking"].indexOf(change.kind) >= 0;
        default: return false;
      }
    }
    function reloadSoon() {
      if (pending) return;
      // A burst of changes is one reload; a form being typed in is never thrown away.
      pending = setTimeout(function () {
        if (sending) { pending = null; return; }
        var active = document.activeElement;
        if (active && (active.tagName === "TEXTAREA" || active.tagName === "INPUT") && active.value) { pending = null; return; }
        source.close();
        location.reload();
      }, 150);
    }
    source.addEventListener("change", function (event) {
      var change;
      try { change = JSON.parse(event.data); } catch (e) { return; }
      if (touches(change)) reloadSoon();
    });
    // A notification: the inbox's count in the tabs goes up (to the member's unread count when it comes with one).
    source.addEventListener("notification", function (event) {
      var note;
      try { note = JSON.parse(event.data); } catch (e) { return; }
      var badge = document.getElementById("inbox-count");
      if (badge) {
        var count = typeof note.unread === "number" ? note.unread : (parseInt(badge.textContent, 10) || 0) + 1;
        badge.textContent = count > 99 ? "99+" : String(count);
        badge.hidden = count === 0;
      }
      if (what === "inbox") reloadSoon();
    });
    source.addEventListener("reset", function () { source.close(); location.reload(); });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  // Offline drafts: a form marked data-offline is sent by script; when the network fails it is kept in this browser
  // and sent once the signal is back. Its idempotencyKey makes a draft sent twice one write.
  var KEY = "shequ.drafts";
  function drafts() { try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { return []; } }
  function keep(list) { localStorage.setItem(KEY, JSON.stringify(list)); }
  function send(draft) {
    return fetch(draft.action, {
      method: "POST", credentials: "same-origin", redirect: "follow",
      headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: draft.body
    });
  }
  var flushing = false;
  function flush() {
    var list = drafts();
    if (!list.length || flushing) return;
    flushing = true;
    var draft = list[0];
    send(draft).then(function (response) {
      // Any answer from the server settles the draft (a refusal will not change by sending again).
      keep(drafts().filter(function (d) { return d.key !== draft.key; }));
      flushing = false;
      tell(body.dataset.offlineSent);
      if (response.ok && response.redirected && drafts().length === 0) { location.href = response.url; } else { flush(); }
    }, function () { flushing = false; });
  }
  // The form's text fields (a draft kept offline cannot hold its photos), and whether photos were chosen.
  function textFields(form) {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) { if (typeof value === "string") params.append(key, value); });
    return params.toString();
  }
  function hasFiles(form) {
    return Array.prototype.some.call(form.querySelectorAll("input[type=file]"), function (input) { return input.files && input.files.length > 0; });
  }
  Array.prototype.forEach.call(document.querySelectorAll("form[data-offline]"), function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var draft = { action: form.getAttribute("action"), body: textFields(form), key: form.elements.idempotencyKey.value, at: Date.now() };
      var withPhotos = hasFiles(form);
      var button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      function saveOffline() {
        sending = false;
        var list = drafts();
        if (!list.some(function (d) { return d.key === draft.key; })) { list.push(draft); keep(list); }
        form.reset();
        if (button) button.disabled = false;
        tell(body.dataset.offlineSaved + (withPhotos ? " " + body.dataset.photosNotKept : ""));
      }
      if (navigator.onLine === false) { saveOffline(); return; }
      var sending = withPhotos
        ? fetch(draft.action, { method: "POST", credentials: "same-origin", redirect: "follow", body: new FormData(form) })
        : send(draft);
      sending.then(function (response) {
        if (response.redirected) { location.href = response.url; return; }
        return response.text().then(function (html) { document.open(); document.write(html); document.close(); });
      }, saveOffline);
    });
  });
  window.addEventListener("online", flush);
  setInterval(function () { if (navigator.onLine !== false) flush(); }, 3000);
  flush();

  // Location: fill the ticket's coordinates from the browser when the resident allows it.
  var locate = document.getElementById("locate");
  if (locate && navigator.geolocation) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (position) {
        document.getElementById("lat").value = position.coords.latitude.toFixed(6);
        document.getElementById("long").value = position.coords.longitude.toFixed(6);
        locate.textContent = position.coords.latitude.toFixed(4) + ", " + position.coords.longitude.toFixed(4);
      });
    });
  }
})();
