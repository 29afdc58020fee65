// The live console's script, served at /console/console.js for the page at GET / (index.html beside it).
// Plain browser JS with no build step; its only other resource is the charting library (uPlot),
// served by this server from node_modules under /console/, so it works offline. Four panels:
//  - the stream: reads /events with fetch and a WHATWG SSE parser (below), so it sees every event
//    whatever its name (EventSource delivers a named event only to a listener for that exact name,
//    and a page cannot listen to "every name"); it reconnects like EventSource does (after the
//    server's retry:, sending Last-Event-ID), so it resumes without gap; pause, clear, filter;
//    reset frames shown as what they mean;
//  - the server: GET /stats every second, numbers and small live charts;
//  - the topics: the busiest topics, from GET /topics and then live from $presence;
//  - publish: raw or JSON, with an event name, showing the answer or the catalog's error.
// Everything received or typed is inserted with textContent, never innerHTML.
'use strict';
// The server's own topic rule and its error message, written into the page by the server, so the
// page checks exactly what the server does.
var RULES = JSON.parse(document.getElementById('server-rules').textContent);
var TOPIC = new RegExp(RULES.topic);
var BAD_TOPIC = RULES.badTopic;
var MAX_ROWS = 1000; // oldest rows are dropped beyond this, so a busy topic cannot grow the page forever
var $ = function (id) { return document.getElementById(id); };
var list = $('events'), stateEl = $('state'), topicInput = $('topic'), result = $('publish-result');
var topic = '', everOpened = false, ctrl = null, lastId = null, retryMs = 3000, reconnectTimer = null;
var paused = false, held = [], filterText = '';

// ---- the stream ----

// data-topic says which connection the state describes (lets a test tell the old 'open' from the new).
function setState(s) { stateEl.textContent = s; stateEl.dataset.state = s; stateEl.dataset.topic = topic; }

// The WHATWG event-stream parser (HTML 9.2.6): lines end at CRLF, CR or LF, even across chunks.
function sseParser(onEvent, onRetry, onId) {
  var buf = '', data = [], name = '', sawCR = false;
  function line(l) {
    if (l === '') {
      if (data.length > 0) onEvent(name || 'message', data.join('\n'));
      data = []; name = '';
      return;
    }
    if (l.charAt(0) === ':') return;
    var i = l.indexOf(':');
    var field = i < 0 ? l : l.slice(0, i), value = i < 0 ? '' : l.slice(i + 1);
    if (value.charAt(0) === ' ') value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') name = value;
    else if (field === 'id') { if (value.indexOf('\0') < 0) onId(value); }
    else if (field === 'retry') { if (/^[0-9]+$/.test(value)) onRetry(Number(value)); }
  }
  return function feed(chunk) {
    if (sawCR && chunk.charAt(0) === '\n') chunk = chunk.slice(1);
    sawCR = false;
    buf += chunk;
    var re = /\r\n|\r|\n/g, m, start = 0;
    while ((m = re.exec(buf)) !== null) {
      if (m[0] === '\r' && re.lastIndex === buf.length) sawCR = true;
      line(buf.slice(start, m.index));
      start = re.lastIndex;
    }
    buf = buf.slice(start);
  };
}

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

function show(name, data) {
  var id = lastId; // the parser has applied this event's id: field before dispatching it
  var time = new Date().toISOString().slice(11, 23), li;
  if (name === 'reset') {
    // A reset: the client missed events. Its id is the position it resumes from, not an event's.
    var why = '';
    try { why = { history: 'older than the history', epoch: 'from before a restart', dropped: 'events skipped (too slow a connection, or a shard that failed)' }[JSON.parse(data).reason] || ''; } catch (e) { /* shown raw */ }
    li = row([['time', time], ['id muted', '-'], ['name', 'reset'], ['data', 'missed events' + (why ? ' (' + why + ')' : '') + ', resynchronise: ' + data]], 'reset');
  } else {
    li = row([['time', time], ['id', id || '-'], ['name' + (name === 'message' ? ' muted' : ''), name], ['data', data]]);
  }
  if (paused) { held.push(li); $('held').textContent = held.length + ' held'; return; }
  append(li);
}

function stop() {
  clearTimeout(reconnectTimer);
  if (ctrl) ctrl.abort();
  ctrl = null;
}

function connect(t) {
  stop();
  topic = t;
  list.textContent = '';
  held = [];
  lastId = null;
  everOpened = false;
  if (!TOPIC.test(t) && t !== '$presence') { setState('closed'); result.textContent = BAD_TOPIC; return; }
  open();
}

function open() {
  var mine = new AbortController();
  ctrl = mine;
  setState(everOpened ? 'reconnecting' : 'connecting');
  var headers = { Accept: 'text/event-stream' };
  if (lastId !== null) headers['Last-Event-ID'] = lastId; // as EventSource sends it on a reconnect
  fetch('/events?topic=' + encodeURIComponent(topic), { headers: headers, signal: mine.signal, cache: 'no-store' })
    .then(function (res) {
      var type = res.headers.get('content-type') || '';
      if (res.status !== 200 || type.indexOf('text/event-stream') !== 0) {
        // As EventSource: anything but a 200 event stream is final.
        return res.text().then(function (body) {
          if (mine !== ctrl) return;
          ctrl = null;
          setState('closed');
          result.textContent = 'stream refused: ' + res.status + ' ' + body;
        });
      }
      everOpened = true;
      setState('open');
      var reader = res.body.getReader(), decoder = new TextDecoder();
      var feed = sseParser(show, function (ms) { retryMs = ms; }, function (id) { lastId = id; });
      function pump() {
        return reader.read().then(function (r) {
          if (r.done) return;
          feed(decoder.decode(r.value, { stream: true }));
          return pump();
        });
      }
      return pump().then(function () { if (mine === ctrl) reconnect(); });
    })
    .catch(function () { if (mine === ctrl) reconnect(); });
}

function reconnect() {
  setState(everOpened ? 'reconnecting' : 'connecting');
  reconnectTimer = setTimeout(open, retryMs);
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

// ---- the topics panel: GET /topics once, then $presence ----

var counts = new Map();
function renderTopics() {
  var top = Array.from(counts.entries()).filter(function (e) { return e[1] > 0; })
    .sort(function (a, b) { return b[1] - a[1] || (a[0] < b[0] ? -1 : 1); }).slice(0, 15);
  var ul = $('topics');
  ul.textContent = '';
  top.forEach(function (e) {
    var li = document.createElement('li'), b = document.createElement('button'), n = document.createElement('span');
    b.type = 'button'; b.textContent = e[0]; b.className = 'topic';
    b.addEventListener('click', function () { topicInput.value = e[0]; $('connect').click(); });
    n.className = 'n'; n.textContent = String(e[1]);
    li.appendChild(b); li.appendChild(n); ul.appendChild(li);
  });
  $('topics-note').textContent = top.length === 0 ? 'no topic has subscribers' : '';
}
// The listing is the state; $presence brings the changes. Loaded on every (re)connect of the
// $presence stream and after a reset: changes made while nobody listened were never announced.
function loadTopics() {
  fetch('/topics?limit=1000', { cache: 'no-store' }).then(function (r) {
    if (r.status === 401) { $('topics-note').textContent = 'the topic list needs the publisher token (PUBLISH_TOKEN)'; return; }
    return r.json().then(function (page) { counts = new Map(); page.topics.forEach(function (t) { counts.set(t.topic, t.subscribers); }); renderTopics(); });
  }).catch(function () {});
}
function watchTopics() {
  var es = new EventSource('/events?topic=' + encodeURIComponent('$presence'));
  es.addEventListener('open', function (e) { if (!(e instanceof MessageEvent)) loadTopics(); });
  es.addEventListener('reset', loadTopics);
  es.addEventListener('presence', function (e) {
    try { var p = JSON.parse(e.data); counts.set(p.topic, p.subscribers); renderTopics(); } catch (err) { /* ignore */ }
  });
}

topicInput.value = new URLSearchParams(location.search).get('topic') || 'demo';
connect(topicInput.value);
initCharts();
tick();
setInterval(tick, 1000);
watchTopics();
