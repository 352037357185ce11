// The inspector's stylesheet: small, inline in every page, readable on a laptop, visible keyboard focus.

/** CSS for every inspector page (served inside <style>). */
export const UI_CSS = `
:root { --fg:#1d2330; --muted:#5b6472; --bg:#f6f7f9; --card:#fff; --line:#d9dde3; --accent:#1f5fbf;
  --ok:#1b7f3b; --bad:#b42318; --bad-bg:#fdecea; --warn:#8a5a00; --warn-bg:#fff4d6; --run:#1f5fbf; --run-bg:#e7f0fd;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg); }
* { box-sizing: border-box; }
body { margin: 0; }
a { color: var(--accent); }
:focus-visible { outline: 3px solid #f0a500; outline-offset: 2px; border-radius: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: #fff; padding: .5rem 1rem; z-index: 10; }
.skip:focus { left: .5rem; }
header.top { background: #1d2330; color: #fff; padding: .6rem 1.5rem; display: flex; gap: 1.5rem; align-items: baseline; }
header.top a { color: #fff; text-decoration: none; font-weight: 600; }
header.top nav a { font-weight: 400; margin-right: 1rem; text-decoration: underline; text-underline-offset: 3px; }
main { max-width: 1280px; margin: 0 auto; padding: 1.25rem 1.5rem 3rem; }
h1 { font-size: 1.45rem; margin: .2rem 0 .6rem; overflow-wrap: anywhere; }
h2 { font-size: 1.1rem; margin: 1.6rem 0 .6rem; }
h3 { font-size: 1rem; margin: 1rem 0 .4rem; }
.muted { color: var(--muted); }
.mono, code, pre { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .86rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1rem 1.2rem; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
form.filters { display: flex; flex-wrap: wrap; gap: .8rem 1.2rem; align-items: end; margin-bottom: 1rem; }
form.filters label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); gap: .2rem; }
form.filters label.check { flex-direction: row; align-items: center; gap: .4rem; }
input[type=search], select, textarea { font: inherit; padding: .35rem .5rem; border: 1px solid #9aa3af; border-radius: 6px; background: #fff; color: var(--fg); }
input[type=search] { min-width: 22rem; }
button, .button { font: inherit; padding: .4rem .9rem; border-radius: 6px; border: 1px solid #1f5fbf; background: #1f5fbf; color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
button.secondary, .button.secondary { background: #fff; color: #1f5fbf; }
button.danger { background: #fff; color: var(--bad); border-color: var(--bad); }
button[disabled] { opacity: .5; cursor: default; }
table.runs { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
table.runs th, table.runs td { padding: .45rem .6rem; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
table.runs th { font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); background: #eef0f3; }
table.runs td.num, table.runs th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.runs tbody tr:hover { background: #f2f6fc; }
table.runs td.goal { max-width: 28rem; overflow-wrap: anywhere; }
td.goal a { font-weight: 600; }
.count-bad { color: var(--bad); font-weight: 600; }
.count-fix { color: var(--warn); font-weight: 600; }
.status { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: .8rem; font-weight: 600; white-space: nowrap; border: 1px solid transparent; }
.status-running { background: var(--run-bg); color: var(--run); }
.status-waiting_for_input { background: var(--warn-bg); color: var(--warn); border-color: #e5c46b; }
.status-succeeded { background: #e5f4ea; color: var(--ok); }
.status-failed { background: var(--bad-bg); color: var(--bad); }
.status-cancelled, .status-interrupted { background: #eceef1; color: #4a5160; }
.status-started { background: var(--run-bg); color: var(--run); }
.badge { display: inline-block; padding: 0 .4rem; border-radius: 4px; font-size: .75rem; border: 1px solid var(--line); background: #f3f4f6; color: #374151; margin-left: .25rem; }
.badge.cached { background: #eef6ff; border-color: #b9d4f5; color: #174a8c; }
.badge.replayed { background: #f3eefe; border-color: #cdbcf3; color: #4b2a93; }
.badge.replayed.from-parent { text-decoration: none; }
details.fork-from { margin: .2rem 0 .4rem 6.6rem; font-size: .85rem; }
details.fork-from summary { cursor: pointer; color: var(--accent); }
form.fork-form { display: grid; gap: .25rem; max-width: 32rem; margin-top: .3rem; }
form.fork-form input[type=text] { font: inherit; padding: .3rem .5rem; border: 1px solid #9aa3af; border-radius: 6px; }
ul.forks { margin: 0; padding-left: 1.1rem; }
table.compare td.absent { text-align: center; }
.badge.remedy { background: var(--warn-bg); border-color: #e5c46b; color: var(--warn); }
.badge.abandoned { background: #f4f4f4; border-color: #bbb; color: #555; }
.kind { display: inline-block; min-width: 5.6rem; font-size: .78rem; font-weight: 700; text-transform: uppercase; letter-spacing: .04em; color: #374151; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.run-head { display: grid; grid-template-columns: 1fr auto; gap: 1rem; align-items: start; }
.actions { display: flex; gap: .5rem; flex-wrap: wrap; justify-content: flex-end; }
.waiting { border: 2px solid #e5c46b; background: var(--warn-bg); border-radius: 8px; padding: 1rem 1.2rem; margin-top: 1rem; }
.waiting h2 { margin-top: 0; }
.waiting details { margin-bottom: 1rem; }
.waiting textarea { width: 100%; min-height: 5rem; }
.form-status { margin-left: .8rem; }
.failure-box { border-left: 4px solid var(--bad); background: var(--bad-bg); padding: .7rem 1rem; border-radius: 0 6px 6px 0; }
.failure-box .fkind { color: var(--bad); font-weight: 700; font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
div.timeline-wrap { position: relative; }
ol.timeline { list-style: none; margin: 0; padding: 0 0 0 44px; position: relative; }
ol.timeline > li { background: var(--card); border: 1px solid var(--line); border-radius: 8px; margin: 0 0 .45rem; position: relative; }
ol.timeline > li.failed { border-color: #f0a8a0; background: #fff8f7; }
ol.timeline > li.started { border-color: #9cc0f0; }
.step-row { display: grid; grid-template-columns: 2.6rem 6.2rem minmax(12rem, 1fr) minmax(10rem, 30%) 5.5rem; gap: .6rem; align-items: center; padding: .45rem .7rem; }
.step-row .seq { font-variant-numeric: tabular-nums; color: var(--muted); font-weight: 600; }
.step-row .what { overflow-wrap: anywhere; min-width: 0; }
.step-row .what a { font-weight: 600; }
.step-row .dur { text-align: right; font-variant-numeric: tabular-nums; font-size: .85rem; }
.step-row .dur small { display: block; color: var(--muted); font-size: .75rem; }
time { white-space: nowrap; }
.step-fail { color: var(--bad); font-size: .88rem; margin-top: .15rem; }
.step-fail .fkind { font-weight: 700; font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
.step-remedy { color: var(--warn); font-size: .85rem; margin-top: .15rem; }
.bar { position: relative; height: .8rem; background: #eef0f3; border-radius: 3px; }
.bar > span { position: absolute; top: 0; bottom: 0; min-width: 3px; border-radius: 3px; background: #6b9be0; }
li.failed .bar > span { background: #d8574b; }
li.started .bar > span { background: repeating-linear-gradient(45deg, #6b9be0 0 6px, #9cc0f0 6px 12px); }
details.llm > summary { list-style: none; cursor: pointer; }
details.llm > summary::-webkit-details-marker { display: none; }
details.llm > summary .what::before { content: "▸ "; color: var(--muted); }
details.llm[open] > summary .what::before { content: "▾ "; }
details.llm .llm-body { padding: 0 .9rem .8rem 3.2rem; }
.msg { border-left: 3px solid var(--line); padding: .2rem .7rem; margin: .4rem 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.msg .role { font-weight: 700; font-size: .78rem; text-transform: uppercase; color: var(--muted); display: block; }
svg.arrows { position: absolute; left: 0; top: 0; width: 44px; height: 100%; overflow: visible; pointer-events: none; }
svg.arrows path { fill: none; stroke: #c27c0e; stroke-width: 2; }
pre.code { background: #fbfbfc; border: 1px solid var(--line); border-radius: 6px; padding: .5rem 0; overflow: auto; max-height: 36rem; margin: 0; }
pre.code .line { display: block; padding: 0 .8rem 0 0; white-space: pre; }
pre.code .ln { display: inline-block; color: #8a93a1; padding: 0 .8rem 0 .6rem; margin-right: .6rem; border-right: 1px solid var(--line); user-select: none; }
pre.code .line.failing { background: #fde2df; box-shadow: inset 4px 0 0 var(--bad); }
pre.code .line.failing .ln { color: var(--bad); font-weight: 700; }
pre.code .line-note { display: block; color: var(--bad); font-weight: 600; white-space: pre-wrap; padding-top: .1rem; padding-bottom: .2rem; padding-right: .8rem; background: #fff1ef; }
.tok-kw { color: #8b2fc9; font-weight: 600; } .tok-str { color: #1b7f3b; } .tok-com { color: #6b7280; font-style: italic; } .tok-num { color: #b45309; }
pre.out { background: #fbfbfc; border: 1px solid var(--line); border-radius: 6px; padding: .6rem .8rem; overflow: auto; max-height: 24rem; white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; }
pre.out.stderr { background: #fff8f7; }
.grid2 { display: grid; grid-template-columns: minmax(0, 1.3fr) minmax(0, 1fr); gap: 1.2rem; }
@media (max-width: 1000px) { .grid2, .run-head { grid-template-columns: 1fr; } .step-row { grid-template-columns: 2.2rem 5.5rem 1fr; } .step-row .bar, .step-row .dur { display: none; } input[type=search] { min-width: 14rem; } }
table.usage { border-collapse: collapse; width: 100%; }
table.usage th, table.usage td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); }
table.usage meter { width: 8rem; }
.over { color: var(--bad); font-weight: 700; }
ul.files { padding-left: 1.2rem; }
ul.files img { display: block; max-width: 100%; max-height: 20rem; border: 1px solid var(--line); margin: .3rem 0 .8rem; background: #fff; }
.empty { padding: 2rem; text-align: center; color: var(--muted); }
.kbd-help { font-size: .8rem; color: var(--muted); margin-top: 1rem; }
kbd { border: 1px solid #aab; border-bottom-width: 2px; border-radius: 3px; padding: 0 .3rem; font-size: .78rem; background: #fff; }
`;
