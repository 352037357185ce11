// The inspector's client script: live updates (SSE on run pages, polling on the list), filters, forms, keys.
// Plain browser JavaScript, no build: every page works without it; this only keeps pages fresh and quick.
/* global document, window, location, history, fetch, EventSource, URLSearchParams, setTimeout, clearTimeout, setInterval */
"use strict";

(function inspector() {
  const TERMINAL = ["succeeded", "failed", "cancelled"];
  const EVENT_TYPES = [
    "step.started",
    "step.completed",
    "step.failed",
    "remediation",
    "run.waiting_for_input",
    "run.completed",
  ];
  const page = document.body.dataset.page;
  let refreshRun = null;

  /** Shows <time datetime> values in the reader's local time (the server writes UTC). */
  function localizeTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      const d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d.getTime())) {
        t.title = t.textContent;
        t.textContent = d.toLocaleString(undefined, {
          year: "numeric",
          month: "short",
          day: "numeric",
          hour: "2-digit",
          minute: "2-digit",
          second: "2-digit",
        });
      }
    });
  }

  /** Replaces a region's HTML, keeping what the reader was doing: focus, typed text, open <details>. */
  function swap(container, text) {
    const active = document.activeElement;
    const inside = active && active !== document.body && container.contains(active);
    const focusId = inside ? active.id : "";
    const focusHref = inside && active.getAttribute ? active.getAttribute("href") : null;
    const values = {};
    container.querySelectorAll("textarea[id], input[id]").forEach(function (el) {
      values[el.id] = el.type === "checkbox" ? el.checked : el.value;
    });
    const open = [];
    container.querySelectorAll("details[id][open]").forEach(function (d) {
      open.push(d.id);
    });
    container.innerHTML = text;
    Object.keys(values).forEach(function (id) {
      const el = document.getElementById(id);
      if (!el) return;
      if (el.type === "checkbox") el.checked = values[id];
      else el.value = values[id];
    });
    open.forEach(function (id) {
      const d = document.getElementById(id);
      if (d) d.open = true;
    });
    let target = focusId ? document.getElementById(focusId) : null;
    if (!target && focusHref)
      target = container.querySelector('[href="' + focusHref.replace(/"/g, '\\"') + '"]');
    if (target) target.focus({ preventScroll: true });
    localizeTimes(container);
  }

  function debounce(fn, ms) {
    let timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  /** Remediation arrows: from each failed step to the automatic retry that answered it. */
  function drawArrows() {
    const wrap = document.querySelector(".timeline-wrap");
    if (!wrap) return;
    const old = wrap.querySelector("svg.arrows");
    if (old) old.remove();
    const retries = wrap.querySelectorAll("li[data-remediation-from]");
    if (retries.length === 0) return;
    const NS = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("class", "arrows");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("height", String(wrap.scrollHeight));
    svg.innerHTML =
      '<defs><marker id="arrowhead" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto">' +
      '<path d="M0,0 L10,5 L0,10 z" fill="#c27c0e" stroke="none"/></marker></defs>';
    const top = wrap.getBoundingClientRect().top;
    let lane = 0;
    retries.forEach(function (li) {
      const from = wrap.querySelector('li[data-seq="' + li.dataset.remediationFrom + '"]');
      if (!from) return;
      const y1 = from.getBoundingClientRect().top - top + 18;
      const y2 = li.getBoundingClientRect().top - top + 18;
      const bend = 6 + (lane % 3) * 10;
      lane++;
      const path = document.createElementNS(NS, "path");
      path.setAttribute("d", "M42," + y1 + " C" + bend + "," + y1 + " " + bend + "," + y2 + " 40," + y2);
      path.setAttribute("marker-end", "url(#arrowhead)");
      path.setAttribute("data-from", li.dataset.remediationFrom);
      path.setAttribute("data-to", li.dataset.seq);
      svg.appendChild(path);
    });
    wrap.prepend(svg);
  }

  function say(text) {
    const status = document.getElementById("live-status");
    if (status) status.textContent = text;
  }

  function describe(type, data) {
    let d = {};
    try {
      d = JSON.parse(data);
    } catch {
      /* not JSON: fall back to the type alone */
    }
    const step = d.seq !== undefined ? "Step #" + d.seq + (d.key ? " (" + d.key + ")" : "") : "";
    if (type === "step.started") return step + " started.";
    if (type === "step.completed") return step + " completed.";
    if (type === "step.failed") return step + " failed" + (d.failure ? ": " + d.failure.kind : "") + ".";
    if (type === "remediation") return "Automatic remediation" + (step ? " of " + step : "") + ".";
    if (type === "run.waiting_for_input") return "The run is waiting for your input.";
    if (type === "run.completed") return "The run finished" + (d.status ? ": " + d.status : "") + ".";
    return type;
  }

  function runPage() {
    const live = document.getElementById("run-live");
    if (!live) return;
    let last = null;
    let timer = null;
    let source = null;

    async function refresh() {
      const res = await fetch(live.dataset.fragmentUrl, {
        cache: "no-store",
        headers: { accept: "text/html" },
      });
      if (!res.ok) return;
      const text = await res.text();
      if (text !== last) {
        last = text;
        swap(live, text);
        drawArrows();
      }
      const status = res.headers.get("x-run-status");
      if (status && TERMINAL.indexOf(status) >= 0 && source) {
        source.close();
        source = null;
        say("The run finished (" + status + "); live updates stopped.");
      }
    }
    refreshRun = refresh;

    function schedule() {
      if (timer) return;
      timer = setTimeout(function () {
        timer = null;
        refresh().catch(function () {});
      }, 120);
    }

    if (live.dataset.live === "1" && window.EventSource) {
      const url =
        "/v1/runs/" +
        encodeURIComponent(live.dataset.runId) +
        "/events?lastEventId=" +
        encodeURIComponent(live.dataset.lastEventId || "0");
      source = new EventSource(url);
      EVENT_TYPES.forEach(function (type) {
        source.addEventListener(type, function (ev) {
          say(describe(type, ev.data));
          schedule();
        });
      });
      // The stream ends when the run finishes; a refresh then sees the final status and stops listening.
      source.onerror = schedule;
    }
    drawArrows();
    window.addEventListener("resize", debounce(drawArrows, 100));
    document.addEventListener("toggle", drawArrows, true);
  }

  function listPage() {
    const form = document.getElementById("run-filters");
    const region = document.getElementById("runs-region");
    if (!form || !region) return;
    const exportLink = document.getElementById("export-link");
    let last = null;
    let seq = 0;

    function query() {
      const p = new URLSearchParams();
      const status = form.elements.status.value;
      const q = form.elements.q.value;
      if (status) p.set("status", status);
      if (q) p.set("q", q);
      const origin = form.elements.origin.value;
      if (origin) p.set("origin", origin);
      return p.toString();
    }

    async function load(fromFilters) {
      const qs = query();
      const mine = ++seq;
      const res = await fetch("/ui/fragments/runs" + (qs ? "?" + qs : ""), { cache: "no-store" });
      if (!res.ok || mine !== seq) return;
      const text = await res.text();
      if (mine !== seq) return;
      if (fromFilters) history.replaceState(null, "", "/ui" + (qs ? "?" + qs : ""));
      // Every load follows the filters it read (a periodic refresh may be the first to show a new filter's
      // rows): the export link always matches the rows shown.
      const status = new URLSearchParams(qs).get("status");
      exportLink.href =
        "/v1/runs/export?format=jsonl" + (status ? "&status=" + encodeURIComponent(status) : "");
      if (text !== last) {
        last = text;
        swap(region, text);
      }
    }

    const onFilter = debounce(function () {
      load(true).catch(function () {});
    }, 200);
    form.addEventListener("input", onFilter);
    form.addEventListener("change", onFilter);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      load(true).catch(function () {});
    });
    // A paged view (older runs) stays put; the first page follows new runs.
    if (!new URLSearchParams(location.search).has("cursor")) {
      setInterval(function () {
        if (document.visibilityState === "visible") load(false).catch(function () {});
      }, 2000);
    }
  }

  /** Forms that talk to the JSON API (cancel, resume, answer, fork): sent with fetch, the outcome written next to the button. */
  document.addEventListener("submit", async function (e) {
    const form = e.target;
    if (!form || !form.dataset || !form.dataset.api) return;
    e.preventDefault();
    const kind = form.dataset.api;
    const out = form.querySelector("output");
    const button = form.querySelector("button[type=submit]");
    let body;
    if (kind === "input") {
      const text = form.elements.input.value;
      let input = text;
      if (form.elements.json && form.elements.json.checked) {
        try {
          input = JSON.parse(text);
        } catch (err) {
          out.textContent = "That is not valid JSON: " + err.message;
          form.elements.input.focus();
          return;
        }
      }
      body = JSON.stringify({ input: input });
    }
    if (kind === "rerun") body = form.dataset.body;
    if (kind === "fork") {
      // Only what was filled in: an empty field keeps the parent's setting (the policy: the key's).
      const fork = { atSeq: Number(form.elements.atSeq.value) };
      const model = form.elements.model.value.trim();
      const goal = form.elements.goal.value.trim();
      const policy = form.elements.policy.value.trim();
      if (model) fork.model = { name: model };
      if (goal) fork.goal = goal;
      if (policy) fork.policy = policy;
      body = JSON.stringify(fork);
    }
    button.disabled = true;
    out.textContent = "Sending…";
    try {
      const init = { method: "POST", headers: { accept: "application/json" } };
      if (body !== undefined) {
        init.headers["content-type"] = "application/json";
        init.body = body;
      }
      const res = await fetch(form.action, init);
      if (res.ok && (kind === "rerun" || kind === "fork")) {
        // Both make a new run: say so, then open it.
        const made = await res.json();
        out.textContent =
          (kind === "fork" ? "Fork " + made.id + " created" : "Run " + made.id + " started") +
          "; opening it…";
        say(out.textContent);
        location.assign("/ui/runs/" + encodeURIComponent(made.id));
        return;
      }
      if (res.ok) {
        const done =
          kind === "input"
            ? "Answer sent; the run goes on."
            : kind === "resume"
              ? "Run resumed."
              : "Run cancelled.";
        out.textContent = done;
        say(done);
        if (refreshRun) await refreshRun();
        return;
      }
      const problem = await res.json().catch(function () {
        return null;
      });
      out.textContent =
        res.status === 404 && kind === "input"
          ? "This service does not accept answers yet (404)."
          : "Not done: " + ((problem && (problem.detail || problem.title)) || "HTTP " + res.status);
    } catch (err) {
      out.textContent = "Network error: " + err.message;
    }
    button.disabled = false;
  });

  /** Keys: "/" search, j/k move between runs or steps, u back to the list, Escape leaves a text box. */
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    const typing =
      t &&
      (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
    if (typing) {
      if (e.key === "Escape") t.blur();
      return;
    }
    const search = document.getElementById("filter-q");
    if (e.key === "/" && search) {
      e.preventDefault();
      search.focus();
      search.select();
    } else if (e.key === "j" || e.key === "k") {
      const items = Array.prototype.slice.call(document.querySelectorAll("[data-nav]"));
      if (items.length === 0) return;
      const at = items.indexOf(document.activeElement);
      const next = e.key === "j" ? Math.min(items.length - 1, at + 1) : Math.max(0, at < 0 ? 0 : at - 1);
      e.preventDefault();
      items[next].focus();
      items[next].scrollIntoView({ block: "nearest" });
    } else if (e.key === "u" && page !== "runs") {
      location.href = "/ui";
    }
  });

  localizeTimes(document);
  if (page === "runs") listPage();
  if (page === "run") runPage();
})();
