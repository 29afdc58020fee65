// The live console's script, served at /console/console.js for the page at GET / (index.html beside it).
// Plain browser JS with no build step, an ES module; its other resources are the browser client
// (/client.js, built from src/client/) and the charting library (uPlot), both served by this server,
// so it works offline. Four panels:
//  - the stream: the browser client, so it sees every event whatever its name (EventSource delivers
//    a named event only to a listener for that exact name, and a page cannot listen to "every
//    name"), resumes without gap after the server's retry: (Last-Event-ID), and shares one stream
//    among all the tabs showing the same topic; pause, clear, filter; reset frames shown as what
//    they mean;
//  - the server: GET /stats every second, numbers and small live charts;
//  - the topics: the busiest topics, GET /topics every second;
//  - publish: raw or JSON, with an event name, showing the answer or the catalog's error.
// Everything received or typed is inserted with textContent, never innerHTML. The page holds one
// stream at most (shared with the other tabs on its topic): a browser opens at most six
// connections to a server over HTTP/1.1, and a page that holds more makes other tabs wait.
import { subscribe } from '/client.js';

// The server's own topic rule and its error message, written into the page by the server, so the
// page checks exactly what the server does.
var RULES = JSON.parse(document.getElementById('server-rules').textContent);
var TOPIC = new RegExp(RULES.topic);
var BAD_TOPIC = RULES.badTopic;
var MAX_ROWS = 1000; // oldest rows are dropped beyond this, so a busy topic cannot grow the page forever
var $ = function (id) { return document.getElementById(id); };
var list = $('events'), stateEl = $('state'), topicInput = $('topic'), result = $('publish-result');
var topic = '', sub = null;
var paused = false, held = [], filterText = '';

// ---- the stream ----

// data-topic says which connection the state describes (lets a test tell the old 'open' from the
// new); data-role whether this tab reads the stream itself (leader) or another tab's (follower).
function setState(s) { stateEl.textContent = s; stateEl.dataset.state = s; stateEl.dataset.topic = topic; }

function row(cells, className) {
  var li = document.createElement('li');
  if (className) li.className = className;
  cells.forEach(function (c) {
    var span = document.createElement('span');
    span.className = c[0];
    span.textContent = c[1];
    li.appendChild(span);
  });
  return li;
}

function append(li) {
  var nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 16;
  li.hidden = filterText !== '' && (li.textContent || '').toLowerCase().indexOf(filterText) < 0;
  list.appendChild(li);
  while (list.children.length > MAX_ROWS) list.removeChild(list.firstChild);
  if (nearBottom) list.scrollTop = list.scrollHeight; // stay put if the user scrolled up
}

function showRow(li) {
  if (paused) { held.push(li); $('held').textContent = held.length + ' held'; return; }
  append(li);
}

function time() { return new Date().toISOString().slice(11, 23); }

function show(e) {
  showRow(row([['time', time()], ['id', e.id || '-'], ['name' + (e.name === 'message' ? ' muted' : ''), e.name], ['data', e.data]]));
}

// A reset: the client missed events. Its id is the position it resumes from, not an event's.
function showReset(reason, id) {
  var why = { history: 'older than the history', epoch: 'from before a restart', dropped: 'events skipped (too slow a connection, or a shard that failed)' }[reason] || '';
  var data = JSON.stringify({ reason: reason });
  showRow(row([['time', time()], ['id muted', '-'], ['name', 'reset'], ['data', 'missed events' + (why ? ' (' + why + ')' : '') + ', resynchronise: ' + data]], 'reset'));
}

function connect(t) {
  if (sub) sub.close();
  sub = null;
  topic = t;
  list.textContent = '';
  held = [];
  if (!TOPIC.test(t) && t !== '$presence') { setState('closed'); result.textContent = BAD_TOPIC; return; }
  // The tabs of this browser that show the same topic share one stream (one connection of the six a
  // browser opens to a server over HTTP/1.1).
  sub = subscribe({
    topics: [t],
    onEvent: show,
    onReset: showReset,
    onState: setState,
    onRole: function (role) { stateEl.dataset.role = role; },
    onError: function (err) { setState('closed'); result.textContent = 'stream refused: ' + err.message; },
  });
}

$('topic-form').addEventListener('submit', function (e) {
  e.preventDefault();
  var t = topicInput.value.trim();
  var url = new URL(location.href);
  url.searchParams.set('topic', t);
  history.replaceState(null, '', url);
  connect(t);
});

$('pause').addEventListener('click', function () {
  paused = !paused;
  this.textContent = paused ? 'Resume' : 'Pause';
  this.setAttribute('aria-pressed', String(paused));
  if (!paused) { held.forEach(append); held = []; $('held').textContent = ''; }
});
$('clear').addEventListener('click', function () { list.textContent = ''; held = []; $('held').textContent = ''; });
$('filter').addEventListener('input', function () {
  filterText = this.value.toLowerCase();
  Array.prototype.forEach.call(list.children, function (li) {
    li.hidden = filterText !== '' && (li.textContent || '').toLowerCase().indexOf(filterText) < 0;
  });
});

// ---- publish ----

$('publish-form').addEventListener('submit', function (e) {
  e.preventDefault();
  var name = $('event-name').value, data = $('data').value, req;
  if ($('format').value === 'json') {
    // JSON: the textarea is the event's data, checked here as JSON, sent as a JSON publish request.
    try { JSON.parse(data); } catch (err) { result.textContent = 'not JSON: ' + err.message; return; }
    var item = { topic: topic, data: data };
    if (name !== '') item.event = name;
    req = fetch('/publish', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(item) });
  } else {
    var q = new URLSearchParams({ topic: topic });
    if (name !== '') q.set('event', name);
    req = fetch('/publish?' + q, { method: 'POST', body: data });
  }
  result.textContent = 'publishing...';
  req.then(function (res) {
      return res.text().then(function (body) {
        var json = null;
        try { json = JSON.parse(body); } catch (err) { /* not JSON: shown raw below */ }
        if (res.ok && json && json.id) result.textContent = 'published, id ' + json.id;
        else result.textContent = 'error ' + res.status + ': ' + (json ? JSON.stringify(json) : body);
      });
    })
    .catch(function (err) { result.textContent = 'error: ' + err.message; });
});

// ---- the server panel: GET /stats every second ----

var HISTORY = 60, series = { t: [], conn: [], ev: [], del: [], p99: [] }, charts = [];
function fmt(n) { return n === null || n === undefined ? '-' : n >= 1e6 ? (n / 1e6).toFixed(1) + 'M' : n >= 1e4 ? (n / 1e3).toFixed(1) + 'k' : String(Math.round(n * 10) / 10); }
function chart(el, label, names) {
  if (!window.uPlot) return null; // no charts, numbers only
  var opts = { title: label, width: Math.max(200, el.clientWidth || 260), height: 110, legend: { show: false }, cursor: { show: false },
    axes: [{ show: false }, { size: 40 }],
    series: [{}].concat(names.map(function (n, i) { return { label: n, stroke: ['#1a55b0', '#c0392b'][i], width: 1.5, points: { show: false } }; })) };
  var c = new uPlot(opts, [[]].concat(names.map(function () { return []; })), el);
  c.root.setAttribute('aria-label', label);
  return c;
}
function initCharts() {
  charts = [
    [chart($('chart-conn'), 'connections', ['connections']), ['conn']],
    [chart($('chart-rate'), 'events/s (blue), deliveries/s (red)', ['events/s', 'deliveries/s']), ['ev', 'del']],
    [chart($('chart-p99'), 'p99 publish latency (ms)', ['p99 ms']), ['p99']],
  ];
}
function tick() {
  fetch('/stats', { cache: 'no-store' }).then(function (r) { return r.json(); }).then(function (s) {
    $('s-conn').textContent = fmt(s.connections);
    $('s-ev').textContent = fmt(s.eventsPerSec);
    $('s-del').textContent = fmt(s.deliveriesPerSec);
    $('s-queued').textContent = fmt(s.queuedBytes) + ' B';
    $('s-slow').textContent = fmt(s.slowDisconnects);
    $('s-p99').textContent = s.p99PublishMs === null ? '-' : fmt(s.p99PublishMs) + ' ms';
    $('s-shards').textContent = s.shards.map(function (x) { return '#' + x.shard + ': ' + x.connections; }).join(', ');
    $('stats').dataset.at = String(s.at);
    series.t.push(s.at / 1000); series.conn.push(s.connections); series.ev.push(s.eventsPerSec);
    series.del.push(s.deliveriesPerSec); series.p99.push(s.p99PublishMs);
    Object.keys(series).forEach(function (k) { if (series[k].length > HISTORY) series[k].shift(); });
    charts.forEach(function (c) { if (c[0]) c[0].setData([series.t].concat(c[1].map(function (k) { return series[k]; }))); });
  }).catch(function () { $('s-conn').textContent = '?'; });
}

// ---- the topics panel: GET /topics every second ----

// Polled, not streamed from $presence: a second stream per tab would take a second of the six
// connections a browser opens to one server over HTTP/1.1.
var topicsRefused = false;
function renderTopics(page) {
  var top = page.topics.filter(function (t) { return t.subscribers > 0; })
    .sort(function (a, b) { return b.subscribers - a.subscribers || (a.topic < b.topic ? -1 : 1); }).slice(0, 15);
  var ul = $('topics');
  ul.textContent = '';
  top.forEach(function (e) {
    var li = document.createElement('li'), b = document.createElement('button'), n = document.createElement('span');
    b.type = 'button'; b.textContent = e.topic; b.className = 'topic';
    b.addEventListener('click', function () { topicInput.value = e.topic; $('connect').click(); });
    n.className = 'n'; n.textContent = String(e.subscribers);
    li.appendChild(b); li.appendChild(n); ul.appendChild(li);
  });
  $('topics-note').textContent = top.length === 0 ? 'no topic has subscribers' : '';
}
function loadTopics() {
  if (topicsRefused) return;
  fetch('/topics?limit=1000', { cache: 'no-store' }).then(function (r) {
    if (r.status === 401) { topicsRefused = true; $('topics-note').textContent = 'the topic list needs the publisher token (PUBLISH_TOKEN)'; return; }
    return r.json().then(renderTopics);
  }).catch(function () {});
}

topicInput.value = new URLSearchParams(location.search).get('topic') || 'demo';
connect(topicInput.value);
initCharts();
tick();
loadTopics();
setInterval(function () { tick(); loadTopics(); }, 1000);
