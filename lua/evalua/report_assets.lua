-- evalua.report_assets: the CSS and the script of the pages evalua.report
-- writes (kept apart so that report.lua holds the page's content). The
-- script is allowed by its SHA-256 in the page's Content-Security-Policy.
local M = {}

-- Widths: the page never scrolls sideways (everything wraps, the row tables
-- have a fixed layout), nothing scrolls inside the page, and the output
-- columns take the largest share of a row table (42% or more of it).
M.CSS = [[
:root{--ink:#1f2430;--muted:#687080;--line:#e3e6eb;--bg:#f6f7f9;--card:#fff;--accent:#0072b2;--good:#1a7f4b;--bad:#b42318;--soft:#eef1f5}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);background:var(--bg);overflow-wrap:anywhere}
header{background:#1f2430;color:#fff;padding:18px 28px}
header h1{margin:0;font-size:21px;font-weight:600}
header .sub{color:#c5cad3;margin-top:4px;font-size:13px}
nav.toc{display:flex;flex-wrap:wrap;gap:2px 16px;padding:8px 28px;background:#fff;border-bottom:1px solid var(--line);font-size:13px}
nav.toc a{color:var(--accent);text-decoration:none}nav.toc a:hover{text-decoration:underline}
main{max-width:1400px;margin:0 auto;padding:20px 28px 40px}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px 18px;margin-bottom:18px}
h2{font-size:16px;margin:0 0 12px;font-weight:600}
h3{font-size:14px;margin:16px 0 6px;font-weight:600}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:8px}
.kv{border:1px solid var(--line);border-radius:6px;padding:6px 10px}
.kv .k{color:var(--muted);font-size:12px}
.kv .v{font-size:14px;font-weight:600}
.metric .v{font-size:19px;font-variant-numeric:tabular-nums}
.metric .aggs{font-size:12px;font-weight:400;color:var(--muted);margin-top:2px}
.badge{white-space:nowrap;display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;background:#e7f0f7;color:#0b4f7c}
.badge.FINISHED{background:#e3f4ea;color:var(--good)}.badge.FAILED,.badge.KILLED{background:#fdecea;color:var(--bad)}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}
th{background:#fafbfc;font-weight:600;font-size:12px;color:#3a4150}
td.num{text-align:right;font-variant-numeric:tabular-nums;overflow-wrap:normal}
td.na{color:#b0b6c0;text-align:center}
.muted{color:var(--muted)}.good{color:var(--good);font-weight:600}.bad{color:var(--bad);font-weight:600}
.full{white-space:pre-wrap}
.plots svg{max-width:100%;height:auto;display:block;margin:6px 0 14px}
.params td:first-child{color:var(--muted);width:32%}
.runs th{width:18%;background:none;font-size:13px;color:var(--muted);font-weight:500}.runs td{width:41%}
.changed{background:#fff4d6;padding:0 4px;border-radius:3px}
.cmpm td,.cmpm th,.acct td,.acct th{font-size:13px}
.acct td.num,.acct th.num{text-align:right}
.acct tr.total td{font-weight:600;border-top:2px solid var(--line)}
.toolbar{display:flex;flex-wrap:wrap;gap:8px 12px;align-items:center;margin-bottom:10px}
.toolbar input{flex:1 1 220px;max-width:380px;padding:6px 10px;border:1px solid #cfd4dc;border-radius:6px;font:inherit}
.toolbar select,.toolbar button{font:inherit;font-size:13px;padding:5px 8px;border:1px solid #cfd4dc;border-radius:6px;background:#fff;color:var(--ink)}
.toolbar button{cursor:pointer}
.toolbar .count{color:var(--muted)}
table.rowtable{table-layout:fixed}
.rowtable th{position:sticky;top:0;z-index:1;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.rowtable th.s{cursor:pointer;user-select:none}.rowtable th.s:hover{background:#eef1f5}
.rowtable th[aria-sort=ascending]::after{content:" \25B2";font-size:10px}
.rowtable th[aria-sort=descending]::after{content:" \25BC";font-size:10px}
.rowtable col.c-n{width:3.6em}
.rowtable col.c-in{width:22%}.rowtable col.c-out{width:44%}.rowtable col.c-tg{width:14%}.rowtable col.c-sc{width:20%}
.rowtable.no-tg col.c-in{width:27%}.rowtable.no-tg col.c-out{width:50%}.rowtable.no-tg col.c-sc{width:23%}
.rowtable.cmp col.c-in{width:18%}.rowtable.cmp col.c-oa,.rowtable.cmp col.c-ob{width:30%}.rowtable.cmp col.c-d{width:22%}
.rowtable tbody{border-bottom:1px solid var(--line)}
.rowtable tr.sum{cursor:pointer}.rowtable tr.sum:hover td{background:#f6f9fc}
.rowtable tr.sum:focus{outline:2px solid var(--accent);outline-offset:-2px}
.rowtable td.n{color:var(--muted);font-variant-numeric:tabular-nums;white-space:nowrap}
.rowtable tr.sum td.n::before{content:"\25B8\00a0";color:#9aa3b0}
.rowtable tr.sum[aria-expanded=true] td.n::before{content:"\25BE\00a0"}
.rowtable tr.sum[aria-expanded=true] td{background:#f3f7fb;border-bottom-color:transparent}
.clip{display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:4;overflow:hidden;white-space:pre-wrap}
.err{color:var(--bad)}
.chip{display:inline-block;max-width:100%;margin:0 4px 4px 0;padding:1px 7px;border-radius:10px;background:var(--soft);font-size:12px;line-height:1.6;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;vertical-align:top}
.chip b{font-variant-numeric:tabular-nums}
.chip.up{background:#e3f4ea;color:var(--good)}.chip.down{background:#fdecea;color:var(--bad)}.chip.same{color:var(--muted)}
.sc1{background:#fdecea}.sc2{background:#fdf1e3}.sc3{background:#f7f4dc}.sc4{background:#e9f5e1}.sc5{background:#dcf1e5}
tr.det>td{background:#fbfcfd;padding:12px 14px 16px}
.texts{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:12px}
.texts.two{grid-template-columns:repeat(auto-fit,minmax(280px,1fr))}
.blk h4{margin:0 0 4px;font-size:11px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.04em}
.blk .full{background:#fff;border:1px solid var(--line);border-radius:6px;padding:8px 10px;max-width:80ch}
.judge{margin:14px 0 0}
.judge .jh{font-weight:600;margin-bottom:4px}
.judge .score{display:inline-block;min-width:1.8em;text-align:center;padding:0 6px;border-radius:6px;background:var(--soft);font-variant-numeric:tabular-nums}
.judge .full{border-left:3px solid var(--accent);padding:2px 0 2px 10px;max-width:80ch}
dl.vals{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:4px 18px;margin:14px 0 0}
dl.vals div{display:flex;justify-content:space-between;align-items:baseline;gap:10px;border-bottom:1px dotted var(--line)}
dl.vals dt{color:var(--muted);min-width:0}dl.vals dd{margin:0;font-variant-numeric:tabular-nums;text-align:right;overflow-wrap:normal;white-space:nowrap}
.prompt{border:1px solid var(--line);border-radius:6px;padding:10px 14px;margin:10px 0}
.prompt summary{cursor:pointer;font-weight:600}.prompt details{margin-top:12px}.prompt details summary{font-weight:600;font-size:14px}
.prompt pre{white-space:pre-wrap;background:#fbfcfd;border:1px solid var(--line);border-radius:6px;padding:10px;font-size:12.5px;margin:6px 0 0}
.ex{border-top:1px solid var(--line);padding:6px 0}
footer{color:var(--muted);font-size:12px;text-align:center;padding-bottom:24px}
@media (max-width:700px){
header{padding:14px 14px}nav.toc{padding:6px 14px}main{padding:12px 8px 32px}section{padding:12px 10px}
th,td{padding:5px 5px}.rowtable col.c-n{width:2.8em}
.rowtable col.c-in{width:20%}.rowtable col.c-out{width:44%}.rowtable col.c-tg{width:14%}.rowtable col.c-sc{width:22%}
.rowtable.no-tg col.c-in{width:24%}.rowtable.no-tg col.c-out{width:50%}.rowtable.no-tg col.c-sc{width:26%}
.rowtable.cmp col.c-in{width:16%}.rowtable.cmp col.c-oa,.rowtable.cmp col.c-ob{width:29%}.rowtable.cmp col.c-d{width:26%}
.clip{-webkit-line-clamp:5}.cmpm .opt,.acct .opt{display:none}
.texts,.texts.two{grid-template-columns:1fr}
.grid{grid-template-columns:repeat(auto-fill,minmax(150px,1fr))}
.runs th{width:25%;font-size:12px;overflow-wrap:normal;word-break:normal;hyphens:auto}
.chip{white-space:normal;overflow-wrap:anywhere}
.cmpm thead,.acct thead{display:none}
.cmpm tr,.acct tr{display:grid;grid-template-columns:repeat(3,minmax(0,1fr));gap:0 8px;padding:6px 0;border-bottom:1px solid var(--line)}
.cmpm td,.acct td{border:0;padding:2px 0;text-align:left!important}
.cmpm td:first-child,.acct td:first-child{grid-column:1/-1;font-weight:600}
.cmpm td[data-label]::before,.acct td[data-label]::before{content:attr(data-label);color:var(--muted);font-size:11px;font-weight:400;display:block}
}
]]

-- Expanding, sorting and filtering the row tables; the last line marks the
-- page as ready (the tests read it). A link can carry the view:
-- #q=text&sort=column&dir=desc&row=N (N is expanded and scrolled to);
-- &open=all or &open=1,5 expands rows without scrolling.
M.JS = [[
(function () {
  function each(list, fn) { Array.prototype.forEach.call(list, fn); }
  function toggle(tb, open) {
    var sum = tb.rows[0], det = tb.rows[1];
    if (!det) return;
    if (open === undefined) open = det.hidden;
    det.hidden = !open;
    sum.setAttribute('aria-expanded', open ? 'true' : 'false');
  }
  function keyOf(tb, how) {
    if (how.attr) {
      var v = tb.getAttribute(how.attr);
      return v === null || v === '' ? null : parseFloat(v);
    }
    return tb.rows[0].cells[how.col].textContent.toLowerCase();
  }
  function sortRows(t, how, dir) {
    var bodies = Array.prototype.slice.call(t.tBodies);
    bodies.sort(function (a, b) {
      var x = keyOf(a, how), y = keyOf(b, how);
      if (x === null || y === null) return x === y ? 0 : (x === null ? 1 : -1);
      return x < y ? -dir : x > y ? dir : 0;
    });
    bodies.forEach(function (b) { t.appendChild(b); });
  }
  var tools = {};
  each(document.querySelectorAll('.toolbar[data-table]'), function (bar) {
    var t = document.getElementById(bar.getAttribute('data-table'));
    var box = bar.querySelector('input'), sel = bar.querySelector('select');
    var dirb = bar.querySelector('button.dir'), allb = bar.querySelector('button.all');
    var count = bar.querySelector('.count');
    var total = t.tBodies.length, dir = 1;
    var heads = t.tHead.rows[0].cells;
    function clearAria() { each(heads, function (th) { th.removeAttribute('aria-sort'); }); }
    function bySelect() {
      clearAria();
      var o = sel.options[sel.selectedIndex];
      sortRows(t, { attr: o.value }, dir);
    }
    function setDir(d) { dir = d; dirb.textContent = d === 1 ? 'ascending' : 'descending'; }
    sel.addEventListener('change', bySelect);
    dirb.addEventListener('click', function () { setDir(-dir); bySelect(); });
    each(heads, function (th, i) {
      if (!th.classList.contains('s')) return;
      th.addEventListener('click', function () {
        var d = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
        clearAria();
        th.setAttribute('aria-sort', d === 1 ? 'ascending' : 'descending');
        sortRows(t, { col: i }, d);
      });
    });
    function filter() {
      var q = box.value.toLowerCase(), shown = 0;
      each(t.tBodies, function (tb) {
        var hit = q === '' || tb.textContent.toLowerCase().indexOf(q) >= 0;
        tb.hidden = !hit;
        if (hit) shown++;
      });
      count.textContent = shown === total ? total + ' rows' : shown + ' of ' + total + ' rows';
    }
    box.addEventListener('input', filter);
    allb.addEventListener('click', function () {
      var open = allb.getAttribute('aria-pressed') !== 'true';
      each(t.tBodies, function (tb) { if (!tb.hidden) toggle(tb, open); });
      allb.setAttribute('aria-pressed', open ? 'true' : 'false');
      allb.textContent = open ? 'collapse all' : 'expand all';
    });
    t.addEventListener('click', function (e) {
      var tr = e.target.closest && e.target.closest('tr.sum');
      if (!tr || String(window.getSelection ? window.getSelection() : '') !== '') return;
      toggle(tr.parentNode);
    });
    t.addEventListener('keydown', function (e) {
      if ((e.key === 'Enter' || e.key === ' ') && e.target.classList.contains('sum')) {
        e.preventDefault();
        toggle(e.target.parentNode);
      }
    });
    filter();
    tools[t.id] = { t: t, box: box, sel: sel, setDir: setDir, bySelect: bySelect, filter: filter };
  });
  // the view a link carries, applied to the first row table
  var first = document.querySelector('table.rowtable');
  var hash = {};
  location.hash.replace(/^#/, '').split('&').forEach(function (kv) {
    var i = kv.indexOf('=');
    if (i > 0) hash[kv.slice(0, i)] = decodeURIComponent(kv.slice(i + 1));
  });
  var tl = first && tools[first.id];
  if (tl && hash.sort) {
    each(tl.sel.options, function (o, i) {
      if (o.getAttribute('data-name') === hash.sort || o.textContent === hash.sort) tl.sel.selectedIndex = i;
    });
    tl.setDir(hash.dir === 'desc' ? -1 : 1);
    tl.bySelect();
  }
  if (tl && hash.q) { tl.box.value = hash.q; tl.filter(); }
  if (tl && hash.open === 'all') tl.t.parentNode.querySelector('button.all').click();
  else if (tl && hash.open) hash.open.split(',').forEach(function (n) {
    var tb = document.getElementById(first.id + '-r' + n);
    if (tb) toggle(tb, true);
  });
  if (tl && hash.row) {
    var tb = document.getElementById(first.id + '-r' + hash.row);
    if (tb) { toggle(tb, true); tb.scrollIntoView(); }
  }
  document.body.setAttribute('data-ready', '1');
})();
]]


return M
