// The inbox's only script: live refresh (server-sent events plus a timer), local times,
// guarding the reply form against double submits and oversized files, typing hints, the
// channel choice narrowing the list at once, the reply box opening when used, and the
// Channels page following pairing codes.
// Pages work without it; it only saves reloads.
(function () {
  'use strict';
  var body = document.body;
  var base = body.dataset.base || '';
  var csrf = body.dataset.csrf || '';
  var REFRESH_MS = 5000;   // receipts change in the store without an event
  var TYPING_MS = 3000;    // at most one typing hint per this interval

  function localTimes(root) {
    root.querySelectorAll('time[datetime]').forEach(function (t) {
      var d = new Date(t.getAttribute('datetime'));
      if (!isNaN(d.getTime())) {
        t.title = t.getAttribute('datetime');
        t.textContent = d.toLocaleString([], { dateStyle: 'short', timeStyle: 'short' });
      }
    });
  }

  function atBottom() {
    return window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 60;
  }

  function toBottom() {
    window.scrollTo(0, document.documentElement.scrollHeight);
  }

  localTimes(document);
  if (document.getElementById('thread')) toBottom();

  // Live refresh: refetch this page's fragment (?partial=1) and swap it in when it changed.
  var live = document.querySelector('[data-live]');
  if (live) {
    var last = null;
    var busy = false;
    var again = false;
    var partialURL = function () {
      var u = new URL(window.location.href);
      u.searchParams.set('partial', '1');
      return u.toString();
    };
    var refresh = function () {
      if (busy) { again = true; return; }
      busy = true;
      fetch(partialURL(), { credentials: 'same-origin', cache: 'no-store' })
        .then(function (res) {
          if (res.redirected) { window.location.assign(window.location.href); return null; } // signed out
          return res.ok ? res.text() : null;
        })
        .then(function (html) {
          if (html === null || html === last) return;
          var stay = atBottom();
          last = html;
          live.innerHTML = html;
          localTimes(live);
          if (stay && document.getElementById('thread')) toBottom();
        })
        .catch(function () { /* offline for a moment: the timer tries again */ })
        .finally(function () {
          busy = false;
          if (again) { again = false; refresh(); }
        });
    };
    window.setInterval(refresh, REFRESH_MS);
    if (window.EventSource) {
      var events = new EventSource(base + '/events');
      events.addEventListener('changed', function (e) {
        var conv = live.dataset.conv;
        var changed = '';
        try { changed = JSON.parse(e.data).conv; } catch (err) { changed = ''; }
        if (!conv || !changed || changed === conv) refresh();
      });
      events.addEventListener('expired', function () {
        events.close();
        window.location.reload();
      });
    }
  }

  // Whole list rows open their conversation.
  document.addEventListener('click', function (e) {
    var row = e.target.closest && e.target.closest('tr.conversation');
    if (!row || e.target.closest('a')) return;
    var link = row.querySelector('a');
    if (link) window.location.assign(link.href);
  });

  // Choosing a channel narrows the list at once; the search waits for Enter or its button.
  var channel = document.getElementById('channel');
  if (channel && channel.form) {
    channel.addEventListener('change', function () { channel.form.requestSubmit(); });
  }

  // The Channels page (admins): follow each instance's state and QR code, which WhatsApp
  // replaces every 20 to 60 seconds, by polling its JSON. A new code is a new image address.
  var pairing = document.getElementById('pairing');
  if (pairing) {
    var PAIRING_MS = 2000;
    var showIf = function (el, on) { if (el) el.hidden = !on; };
    var update = function (row) {
      var box = document.getElementById('pair-' + row.instance);
      if (!box) { window.location.reload(); return; } // an instance came or went
      box.querySelectorAll('[data-field]').forEach(function (el) {
        var key = el.dataset.field;
        if (key === 'qr') {
          if (row.qr && el.getAttribute('src') !== row.qr) el.setAttribute('src', row.qr);
          showIf(el, !!row.qr);
        } else if (el.textContent !== String(row[key] || '')) {
          el.textContent = row[key] || '';
        }
      });
      box.querySelectorAll('[data-show]').forEach(function (el) { showIf(el, !!row[el.dataset.show]); });
    };
    var poll = function () {
      fetch(pairing.dataset.status, { credentials: 'same-origin', cache: 'no-store' })
        .then(function (res) {
          if (res.status === 401 || res.status === 403) { window.location.reload(); return null; }
          return res.ok ? res.json() : null;
        })
        .then(function (data) {
          if (!data) return;
          data.instances.forEach(update);
          if (data.instances.length !== pairing.querySelectorAll('[data-instance]').length) window.location.reload();
        })
        .catch(function () { /* offline for a moment: the timer tries again */ });
    };
    window.setInterval(poll, PAIRING_MS);
  }

  var form = document.getElementById('reply');
  if (!form) return;
  var text = document.getElementById('reply-text');
  var attach = document.getElementById('attach');
  var attachError = document.getElementById('attach-error');

  form.addEventListener('submit', function (e) {
    if (attach && attach.files.length && attach.files[0].size > Number(attach.dataset.max)) {
      e.preventDefault();
      attachError.textContent = 'The file is too large: attachments may have at most ' + attach.dataset.maxText + '.';
      attachError.hidden = false;
      return;
    }
    // A second click while the first is on its way would be deduplicated by the server; not
    // sending it at all is kinder. Buttons are not disabled: that would drop the pressed one's
    // name (reply or note) from the form.
    if (form.dataset.sent) { e.preventDefault(); return; }
    form.dataset.sent = '1';
  });

  if (attach) {
    var attachName = document.getElementById('attach-name');
    attach.addEventListener('change', function () {
      attachError.hidden = true;
      // Phones hide the file input's own text (inbox.css): the label says what was chosen.
      attachName.textContent = attach.files.length ? attach.files[0].name : '';
    });
  }

  // On phones the reply box is two lines until used (inbox.css), so the conversation keeps
  // the screen. It opens when anything in it gets focus and closes, when nothing is written
  // or attached, once the agent turns to something outside it. Never on blur: a tap on its
  // own buttons blurs the text first in some browsers, and a box shrinking under the finger
  // would lose that tap.
  form.addEventListener('focusin', function () { form.classList.add('open'); });
  var closeUnlessUsed = function (e) {
    if (form.contains(e.target) || text.value.trim() || (attach && attach.files.length)) return;
    form.classList.remove('open');
  };
  document.addEventListener('pointerdown', closeUnlessUsed);
  document.addEventListener('focusin', closeUnlessUsed);

  text.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      document.getElementById('reply-send').click();
    }
  });

  var lastTyping = 0;
  text.addEventListener('input', function () {
    var now = Date.now();
    if (now - lastTyping < TYPING_MS || !text.value.trim()) return;
    lastTyping = now;
    fetch(text.dataset.typing, {
      method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-Token': csrf }
    }).catch(function () { /* a hint only */ });
  });
})();
