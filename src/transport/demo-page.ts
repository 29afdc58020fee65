// The demo page served at GET /: one self-contained HTML document (inline CSS and JS, no external
// resources) that subscribes with the browser's own EventSource and publishes with fetch.
// Everything received or typed is inserted with textContent, never innerHTML.
// The inline script is plain JS inside a template literal: it must contain no backticks, and its only
// `${}` are the server's own topic rule, so the page checks exactly what the server does.
import { ERRORS } from '../intake/errors.js';
import { TOPIC } from '../intake/topics.js';

const STYLE = `
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1rem auto; max-width: 60rem; padding: 0 1rem; }
  form { display: flex; gap: .5rem; align-items: flex-start; margin: .5rem 0; }
  textarea { flex: 1; min-height: 3rem; font: 13px ui-monospace, monospace; }
  #state { font-weight: bold; padding: .1rem .5rem; border-radius: .3rem; background: #ddd; }
  #state[data-state="open"] { background: #c8f0c8; }
  #state[data-state="reconnecting"], #state[data-state="connecting"] { background: #f8e8a8; }
  #state[data-state="closed"] { background: #f4c0c0; }
  #events { list-style: none; margin: 0; padding: 0; height: 55vh; overflow-y: auto;
    border: 1px solid #ccc; font: 13px ui-monospace, monospace; }
  #events li { display: grid; grid-template-columns: 7rem 12rem 8rem 1fr; gap: .5rem;
    padding: .15rem .4rem; border-bottom: 1px solid #eee; }
  #events li.reset { background: #fde2c4; font-weight: bold; }
  #events .data { white-space: pre-wrap; word-break: break-all; }
  #events .muted, #publish-result { color: #666; }
`;

const SCRIPT = `
'use strict';
var TOPIC = new RegExp(${JSON.stringify(TOPIC.source)});
var BAD_TOPIC = ${JSON.stringify(ERRORS.BAD_TOPIC.message)};
var MAX_ROWS = 1000; // oldest rows are dropped beyond this, so a busy topic cannot grow the page forever
var $ = function (id) { return document.getElementById(id); };
var list = $('events'), stateEl = $('state'), topicInput = $('topic'), result = $('publish-result');
var source = null, topic = '', everOpened = false;
// EventSource delivers an event with an 'event:' name only to listeners for that exact name, and a
// page cannot listen to "every name". So this page listens to 'message' (unnamed events), 'reset'
// and each name the user publishes from the form below; named events published elsewhere under
// other names are not shown.
var names = new Set(['message', 'reset']);

// data-topic says which connection the state describes (lets a test tell the old 'open' from the new).
function setState(s) { stateEl.textContent = s; stateEl.dataset.state = s; stateEl.dataset.topic = topic; }

function addRow(cells, className) {
  var nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 16;
  var li = document.createElement('li');
  if (className) li.className = className;
  cells.forEach(function (c) {
    var span = document.createElement('span');
    span.className = c[0];
    span.textContent = c[1];
    li.appendChild(span);
  });
  list.appendChild(li);
  while (list.children.length > MAX_ROWS) list.removeChild(list.firstChild);
  if (nearBottom) list.scrollTop = list.scrollHeight; // stay put if the user scrolled up
}

function show(e) {
  var time = new Date().toISOString().slice(11, 23);
  if (e.type === 'reset') {
    // A reset: the client missed events. Its id is the position it resumes from, not an event's.
    addRow([['time', time], ['id muted', '-'], ['name', 'reset'], ['data', 'missed events, resynchronise: ' + e.data]], 'reset');
  } else {
    addRow([['time', time], ['id', e.lastEventId || '-'], ['name' + (e.type === 'message' ? ' muted' : ''), e.type], ['data', e.data]]);
  }
}

function connect(t) {
  if (source) source.close();
  topic = t;
  list.textContent = '';
  everOpened = false;
  if (!TOPIC.test(t)) { source = null; setState('closed'); result.textContent = BAD_TOPIC; return; }
  setState('connecting');
  source = new EventSource('/events?topic=' + encodeURIComponent(t));
  source.addEventListener('open', function (e) {
    if (e instanceof MessageEvent) return show(e); // an event someone named "open"
    everOpened = true;
    setState('open');
  });
  source.addEventListener('error', function (e) {
    if (e instanceof MessageEvent) return show(e); // an event someone named "error"
    // CONNECTING after an error: the browser retries by itself (after the server's retry: delay).
    // CLOSED: it gave up (e.g. a 4xx or a wrong content type) and a new EventSource is needed.
    setState(source.readyState === EventSource.CLOSED ? 'closed' : everOpened ? 'reconnecting' : 'connecting');
  });
  names.forEach(function (n) { source.addEventListener(n, show); });
}

function listen(name) {
  if (names.has(name) || name === 'open' || name === 'error') return; // those two have listeners already
  names.add(name);
  if (source) source.addEventListener(name, show);
}

$('topic-form').addEventListener('submit', function (e) {
  e.preventDefault();
  var t = topicInput.value.trim();
  var url = new URL(location.href);
  url.searchParams.set('topic', t);
  history.replaceState(null, '', url);
  connect(t);
});

$('publish-form').addEventListener('submit', function (e) {
  e.preventDefault();
  var name = $('event-name').value;
  var q = new URLSearchParams({ topic: topic });
  if (name !== '') { q.set('event', name); listen(name); } // listen before it can arrive
  result.textContent = 'publishing...';
  fetch('/publish?' + q, { method: 'POST', body: $('data').value })
    .then(function (res) {
      return res.text().then(function (body) {
        var json = null;
        try { json = JSON.parse(body); } catch (err) { /* not JSON: shown raw below */ }
        if (res.ok && json && json.id) result.textContent = 'published, id ' + json.id;
        else result.textContent = 'error ' + res.status + ': ' + (json ? JSON.stringify(json) : body);
      });
    })
    .catch(function (err) { result.textContent = 'error: ' + err.message; });
});

topicInput.value = new URLSearchParams(location.search).get('topic') || 'demo';
connect(topicInput.value);
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SSE demo</title>
<style>${STYLE}</style>
</head>
<body>
<h1>SSE demo</h1>
<form id="topic-form">
  <label for="topic">Topic</label>
  <input id="topic" name="topic" required maxlength="128" autocomplete="off">
  <button id="connect" type="submit">Connect</button>
  <span>state: <span id="state" data-state="connecting" role="status">connecting</span></span>
</form>
<ol id="events" aria-live="polite"></ol>
<h2>Publish to this topic</h2>
<form id="publish-form">
  <textarea id="data" placeholder="event data (newlines allowed)"></textarea>
  <input id="event-name" placeholder="event name (optional)" maxlength="128" autocomplete="off">
  <button id="publish" type="submit">Publish</button>
</form>
<p id="publish-result" role="status"></p>
<script>${SCRIPT}</script>
</body>
</html>
`;

export function renderDemoPage(): string {
  return PAGE;
}
