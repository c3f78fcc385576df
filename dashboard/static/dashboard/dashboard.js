/* FireLater dashboard: refreshes the server-rendered figures from the JSON API.
 *
 * The page is complete without this script. With it, every `refreshSeconds` (and on
 * "Refresh now") the dashboard endpoints are fetched with the session cookie and the
 * numbers, bars, trend chart and lists are updated in place. A failed refresh shows the
 * alert at the top and keeps the last figures. The chart geometry mirrors
 * dashboard/charts.py: point (day index, top - count) in a viewBox (days - 1) x top.
 */
(function () {
  "use strict";

  var configNode = document.getElementById("dashboard-config");
  var root = document.querySelector("[data-dashboard]");
  if (!configNode || !root || !window.fetch || !window.Promise) return;

  var config = JSON.parse(configNode.textContent);
  var statusNode = document.getElementById("refresh-status");
  var errorNode = document.getElementById("refresh-error");
  var refreshButton = document.getElementById("refresh-now");
  var announceNode = document.getElementById("refresh-announce");
  var days = config.days;
  var inFlight = null;
  var lastSuccess = Date.now();
  var numberFormat = new Intl.NumberFormat("en-US");
  var TICKS = 4;

  function fmt(value) {
    return numberFormat.format(value);
  }

  function dig(data, path) {
    return path.split(".").reduce(function (value, key) {
      return value == null ? undefined : value[key];
    }, data);
  }

  /* Each URL's last ETag and body: a refresh sends If-None-Match, and a 304 (nothing
   * changed) reuses the body it already has instead of downloading it again. */
  var known = {};

  function getJSON(url) {
    var headers = { Accept: "application/json" };
    if (known[url]) headers["If-None-Match"] = known[url].etag;
    return fetch(url, {
      headers: headers,
      credentials: "same-origin",
      cache: "no-store",
    }).then(function (response) {
      if (response.status === 304 && known[url]) return known[url].body;
      if (!response.ok) {
        var error = new Error("HTTP " + response.status);
        error.status = response.status;
        throw error;
      }
      return response.json().then(function (body) {
        var etag = response.headers.get("ETag");
        if (etag) known[url] = { etag: etag, body: body };
        return body;
      });
    });
  }

  function trendsUrl() {
    return config.api.trends + "?days=" + encodeURIComponent(days);
  }

  function sum(values) {
    return values.reduce(function (a, b) { return a + b; }, 0);
  }

  /* The API's JSON, reshaped into the paths the page's data-* attributes name. */
  function shape(raw) {
    function byKey(rows, key) {
      var out = {};
      rows.forEach(function (row) { out[row[key]] = row.count; });
      return out;
    }
    var tiers = {};
    [1, 2, 3, 4].forEach(function (tier) {
      tiers[tier] = { healthy: 0, warning: 0, critical: 0, unknown: 0, total: 0 };
    });
    raw.health.byTier.forEach(function (row) {
      var counts = { healthy: row.healthy, warning: row.warning, critical: row.critical, unknown: row.unknown };
      counts.total = sum(Object.keys(counts).map(function (k) { return counts[k]; }));
      tiers[row.tier] = counts;
    });
    var sla = { total: 0, within: 0 };
    raw.sla.forEach(function (row) {
      sla[row.priority] = row;
      sla.total += row.total;
      sla.within += row.withinSla;
    });
    sla.rate = rate(sla.within, sla.total);
    var totals = { completed: 0, successful: 0, failed: 0, rolledBack: 0 };
    raw.success.forEach(function (day) {
      Object.keys(totals).forEach(function (key) { totals[key] += day[key]; });
    });
    var byPriority = byKey(raw.by_priority, "priority");
    var byStatus = byKey(raw.by_status, "status");
    var trend = raw.trends;
    return {
      overview: raw.overview,
      by_priority: byPriority,
      by_status: byStatus,
      health: { buckets: raw.health.buckets, total: raw.health.total, tiers: tiers },
      upcoming: raw.upcoming,
      activity: raw.activity,
      trends: trend,
      sla: sla,
      success: { totals: totals, rate: rate(totals.successful, totals.completed), days: raw.success },
      critical_apps: raw.critical_apps,
      by_item: raw.by_item,
      cloud: raw.cloud,
      counts: {
        sla: sla.total,
        success: totals.completed,
        critical: raw.critical_apps.total,
        byItem: raw.by_item.length,
        cloud: raw.cloud.length,
        openIssues: sum(raw.by_priority.map(function (r) { return r.count; })),
        issues: sum(raw.by_status.map(function (r) { return r.count; })),
        applications: raw.health.total,
        upcoming: raw.upcoming.total,
        activity: raw.activity.length,
        trend: sum(trend.map(function (r) { return r.created + r.resolved; })),
      },
    };
  }

  function rate(part, whole) {
    return whole ? Math.round(1000 * part / whole) / 10 : null;
  }

  function fmtRate(value) {
    return value == null ? "\u2013" : value.toFixed(1) + " %";
  }

  function fmtMoney(value) {
    var parts = String(value).split(".");
    return fmt(Number(parts[0])) + "." + (parts[1] || "00");
  }

  function renderFields(data) {
    root.querySelectorAll("[data-rate]").forEach(function (node) {
      node.textContent = fmtRate(dig(data, node.getAttribute("data-rate")));
    });
    root.querySelectorAll("[data-percent]").forEach(function (node) {
      node.setAttribute("width", String(dig(data, node.getAttribute("data-percent")) || 0));
    });
    root.querySelectorAll("[data-field]").forEach(function (node) {
      var value = dig(data, node.getAttribute("data-field"));
      if (typeof value !== "number") return;
      node.textContent = fmt(value);
      var holder = node.closest("[data-zero]");
      if (holder) holder.setAttribute("data-zero", String(value === 0));
    });
    // Bars and stacks are SVG rects in count units (no inline style: the page's CSP).
    root.querySelectorAll("[data-stack]").forEach(function (stack) {
      var start = 0;
      stack.querySelectorAll("[data-grow]").forEach(function (part) {
        var value = dig(data, part.getAttribute("data-grow")) || 0;
        part.setAttribute("x", String(start));
        part.setAttribute("width", String(value));
        start += value;
      });
      stack.setAttribute("viewBox", "0 0 " + (start || 1) + " 1");
    });
    root.querySelectorAll("[data-bars]").forEach(function (list) {
      var bars = Array.prototype.slice.call(list.querySelectorAll("[data-bar]"));
      var values = bars.map(function (bar) { return dig(data, bar.getAttribute("data-bar")) || 0; });
      var scale = Math.max.apply(null, [0].concat(values)) || 1;
      bars.forEach(function (bar, i) {
        bar.ownerSVGElement.setAttribute("viewBox", "0 0 " + scale + " 1");
        bar.setAttribute("width", String(values[i]));
      });
    });
    renderEmpty(data);
  }

  function renderEmpty(data) {
    root.querySelectorAll("[data-empty-when]").forEach(function (node) {
      node.hidden = Boolean(dig(data, node.getAttribute("data-empty-when")));
    });
    root.querySelectorAll("[data-shown-when]").forEach(function (node) {
      node.hidden = !dig(data, node.getAttribute("data-shown-when"));
    });
  }

  /* --- Trend chart (mirrors dashboard/charts.py) --------------------------------- */

  function niceTop(peak) {
    var needed = Math.max(peak, 1) / TICKS;
    for (var magnitude = 1; ; magnitude *= 10) {
      var factors = [1, 2, 2.5, 5];
      for (var i = 0; i < factors.length; i++) {
        var step = factors[i] * magnitude;
        if (step >= needed && Number.isInteger(step)) return step * TICKS;
      }
    }
  }

  function points(values, top) {
    return values.map(function (value, index) { return index + "," + (top - value); }).join(" ");
  }

  function utcDate(iso) {
    return new Date(iso + "T00:00:00Z");
  }

  function shortDate(iso) {
    return utcDate(iso).toLocaleDateString("en-US", { month: "short", day: "numeric", timeZone: "UTC" });
  }

  function rowDate(iso) {
    return utcDate(iso).toLocaleDateString("en-US", {
      weekday: "short", month: "short", day: "numeric", timeZone: "UTC",
    });
  }

  function renderTrend(rows) {
    var created = rows.map(function (r) { return r.created; });
    var resolved = rows.map(function (r) { return r.resolved; });
    var top = niceTop(Math.max.apply(null, [0].concat(created, resolved)));
    var svg = document.getElementById("trend-svg");
    if (!svg || !rows.length) return;
    svg.setAttribute("viewBox", "0 0 " + Math.max(rows.length - 1, 1) + " " + top);
    svg.querySelector(".chart__line--created").setAttribute("points", points(created, top));
    svg.querySelector(".chart__line--resolved").setAttribute("points", points(resolved, top));
    svg.querySelector(".chart__area").setAttribute(
      "points", "0," + top + " " + points(created, top) + " " + (rows.length - 1) + "," + top
    );
    root.querySelectorAll("[data-tick]").forEach(function (node) {
      node.textContent = fmt(top * Number(node.getAttribute("data-tick")) / TICKS);
    });
    var labelAt = [0, Math.floor(rows.length / 2), rows.length - 1];
    root.querySelectorAll("[data-x-label]").forEach(function (node, i) {
      if (labelAt[i] !== undefined) node.textContent = shortDate(rows[labelAt[i]].date);
    });
    var totalCreated = sum(created);
    var totalResolved = sum(resolved);
    root.querySelector('[data-trend="created"]').textContent = fmt(totalCreated);
    root.querySelector('[data-trend="resolved"]').textContent = fmt(totalResolved);
    root.querySelector('[data-trend="days"]').textContent = String(rows.length);
    document.getElementById("trend-summary").textContent =
      "From " + shortDate(rows[0].date) + " to " + shortDate(rows[rows.length - 1].date) + ", " +
      totalCreated + " issues were created and " + totalResolved + " resolved.";
    var body = document.getElementById("trend-rows");
    var fragment = document.createDocumentFragment();
    rows.forEach(function (row) {
      var tr = document.createElement("tr");
      var th = document.createElement("th");
      th.scope = "row";
      var time = document.createElement("time");
      time.dateTime = row.date;
      time.textContent = rowDate(row.date);
      th.appendChild(time);
      tr.appendChild(th);
      [row.created, row.resolved].forEach(function (value) {
        var td = document.createElement("td");
        td.textContent = fmt(value);
        tr.appendChild(td);
      });
      fragment.appendChild(tr);
    });
    body.replaceChildren(fragment);
  }

  /* --- Lists: upcoming changes and the activity feed ------------------------------ */

  function capitalise(text) {
    return text ? text.charAt(0).toUpperCase() + text.slice(1) : "";
  }

  function ago(iso) {
    var seconds = Math.max(0, Math.floor((Date.now() - new Date(iso).getTime()) / 1000));
    if (seconds < 60) return "just now";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min ago";
    if (seconds < 86400) return Math.floor(seconds / 3600) + " h ago";
    return Math.floor(seconds / 86400) + " d ago";
  }

  function when(iso, withYear) {
    var parts = {};
    new Intl.DateTimeFormat("en-US", {
      weekday: "short", day: "numeric", month: "short", year: "numeric",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: config.timeZone,
    }).formatToParts(new Date(iso)).forEach(function (part) { parts[part.type] = part.value; });
    return parts.weekday + " " + parts.day + " " + parts.month + (withYear ? " " + parts.year : "") +
      ", " + parts.hour + ":" + parts.minute;
  }

  function fill(templateId, fillers) {
    var item = document.getElementById(templateId).content.firstElementChild.cloneNode(true);
    item.querySelectorAll("[data-slot]").forEach(function (node) {
      var filler = fillers[node.getAttribute("data-slot")];
      if (filler) filler(node);
    });
    return item;
  }

  function renderUpcoming(upcoming) {
    var shown = upcoming.changes.slice(0, config.upcomingShown);
    var items = shown.map(function (change) {
      return fill("change-template", {
        start: function (node) {
          node.dateTime = change.scheduledStart;
          node.textContent = when(change.scheduledStart, false);
        },
        number: function (node) { node.textContent = change.number; },
        title: function (node) { node.textContent = change.title; },
        risk: function (node) {
          node.className = "badge risk-" + change.risk;
          node.textContent = capitalise(change.risk) + " risk";
        },
        status: function (node) { node.textContent = capitalise(change.status); },
        application: function (node) {
          node.textContent = change.application ? " · " + change.application.name : "";
        },
      });
    });
    document.getElementById("upcoming-list").replaceChildren.apply(
      document.getElementById("upcoming-list"), items
    );
    var hidden = upcoming.total - Math.min(upcoming.shown, config.upcomingShown);
    var more = document.getElementById("upcoming-more");
    more.hidden = hidden <= 0;
    more.querySelector("[data-more]").textContent = fmt(Math.max(hidden, 0));
  }

  function renderActivity(events) {
    var items = events.slice(0, config.activityShown).map(function (event) {
      return fill("event-template", {
        icon: function (node) {
          node.className = "event__icon type-" + event.type;
          node.textContent = event.type.charAt(0).toUpperCase();
        },
        number: function (node) {
          node.textContent = event.number;
          if (node.tagName === "A" && config.admin) {
            var model = config.admin.models[event.type];
            node.href = config.admin.index + (model ? model + "/" + event.id + "/change/" : "");
          }
        },
        title: function (node) { node.textContent = event.title; },
        what: function (node) { node.textContent = capitalise(event.type) + " " + event.action; },
        at: function (node) {
          node.dateTime = event.at;
          node.title = when(event.at, true) + " " + config.timeZone;
          node.textContent = ago(event.at);
        },
      });
    });
    var list = document.getElementById("activity-list");
    list.replaceChildren.apply(list, items);
  }

  /* --- The #14 panels (mirror templates/dashboard/_*.html and charts.stacked_columns) --- */

  var SVG = "http://www.w3.org/2000/svg";

  function renderColumns(id, rows, series, label) {
    var svg = document.getElementById(id);
    if (!svg) return;
    var peak = Math.max.apply(null, [0].concat(rows.map(function (row) {
      return sum(series.map(function (name) { return Number(row[name]) || 0; }));
    })));
    var top = niceTop(peak);
    svg.setAttribute("viewBox", "0 0 " + Math.max(rows.length, 1) + " " + top);
    var rects = [];
    rows.forEach(function (row, index) {
      var base = top;
      series.forEach(function (name) {
        var value = Number(row[name]) || 0;
        base -= value;
        var rect = document.createElementNS(SVG, "rect");
        rect.setAttribute("class", "columns__part columns__part--" + name);
        rect.setAttribute("x", index + 0.1);
        rect.setAttribute("y", base);
        rect.setAttribute("width", "0.8");
        rect.setAttribute("height", value);
        var title = document.createElementNS(SVG, "title");
        title.textContent = row[label] + ": " + value;
        rect.append(title);
        rects.push(rect);
      });
    });
    svg.replaceChildren.apply(svg, rects);
  }

  function renderRows(listId, templateId, rows, fillersFor) {
    var list = document.getElementById(listId);
    if (!list) return;
    list.replaceChildren.apply(list, rows.map(function (row) {
      return fill(templateId, fillersFor(row));
    }));
  }

  function text(value) {
    return function (node) { node.textContent = value; };
  }

  var TRENDS = { improving: "\u2191 improving", declining: "\u2193 declining", stable: "\u2192 stable" };

  function renderPanels(data) {
    renderColumns("success-chart", data.success.days, ["successful", "failed", "rolledBack"], "date");
    renderRows("critical-list", "critical-template", data.critical_apps.applications, function (app) {
      return {
        score: text(app.score),
        name: text(app.name),
        tier: text("Tier " + app.tier),
        trend: function (node) {
          node.textContent = TRENDS[app.trend] || "first score";
          node.className = "trend trend--" + (app.trend || "none");
        },
      };
    });
    renderRows("item-rows", "item-template", data.by_item, function (row) {
      return {
        name: text(row.item.name),
        count: text(fmt(row.count)),
        fulfilmentRate: text(fmtRate(row.fulfilmentRate)),
        withinTarget: text(fmt(row.withinTarget)),
      };
    });
    var currency = data.cloud.length ? data.cloud[0].currency : "";
    var charted = data.cloud.filter(function (row) { return row.currency === currency; });
    renderColumns("cloud-chart", charted, ["totalCost"], "month");
    renderRows("cloud-rows", "cloud-template", data.cloud.slice().reverse(), function (row) {
      return {
        month: text(row.month),
        totalCost: text(fmtMoney(row.totalCost) + " " + row.currency),
        changePercent: text(fmtRate(row.changePercent)),
      };
    });
    var latest = root.querySelector('[data-slot="cloud-latest"]');
    if (latest && charted.length) {
      latest.textContent = fmtMoney(charted[charted.length - 1].totalCost) + " " + currency;
    }
  }

  /* --- Refresh cycle --------------------------------------------------------------- */

  function clock(date) {
    return date.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function showSuccess(announce) {
    var recovered = !errorNode.hidden;
    lastSuccess = Date.now();
    errorNode.hidden = true;
    statusNode.textContent = "Updated at " + clock(new Date());
    if (announce || recovered) announceNode.textContent = statusNode.textContent;
  }

  function showError(error) {
    var detail = errorNode.querySelector("[data-error-detail]");
    detail.replaceChildren();
    if (error.status === 401 || error.status === 403) {
      detail.append("Your session has ended: ");
      var link = document.createElement("a");
      link.href = config.loginUrl + "?next=" + encodeURIComponent(location.pathname + location.search);
      link.textContent = "log in again";
      detail.append(link, ".");
    } else if (error.status) {
      detail.textContent = "The server answered with an error (" + error.status + ").";
    } else {
      detail.textContent = "The server could not be reached.";
    }
    errorNode.hidden = false;
    statusNode.textContent = "Refresh failed; figures from " + clock(new Date(lastSuccess));
  }

  /* Fetch every section and redraw; `asked` when the user clicked (then it is announced). */
  function refresh(asked) {
    if (inFlight) return inFlight;
    var names = Object.keys(config.api);
    root.setAttribute("aria-busy", "true");
    if (refreshButton) refreshButton.disabled = true;
    inFlight = Promise.all(names.map(function (name) {
      return getJSON(name === "trends" ? trendsUrl() : config.api[name]);
    })).then(function (results) {
      var raw = {};
      names.forEach(function (name, i) { raw[name] = results[i]; });
      var data = shape(raw);
      renderFields(data);
      if (data.trends.length === days) renderTrend(data.trends);  // else: switched meanwhile
      renderUpcoming(data.upcoming);
      renderActivity(data.activity);
      renderPanels(data);
      showSuccess(asked === true);
    }).catch(showError).then(function () {
      root.removeAttribute("aria-busy");
      if (refreshButton) refreshButton.disabled = false;
      inFlight = null;
    });
    return inFlight;
  }

  function switchPeriod(link) {
    days = Number(link.getAttribute("data-days"));
    root.querySelectorAll("[data-days]").forEach(function (other) {
      if (other === link) other.setAttribute("aria-current", "true");
      else other.removeAttribute("aria-current");
    });
    history.replaceState(null, "", "?days=" + days + "#trends");
    return getJSON(trendsUrl()).then(function (rows) {
      renderTrend(rows);
      var total = sum(rows.map(function (r) { return r.created + r.resolved; }));
      root.querySelector('[data-empty-when="counts.trend"]').hidden = total > 0;
      errorNode.hidden = true;
    }).catch(showError);
  }

  root.addEventListener("click", function (event) {
    var link = event.target.closest("[data-days]");
    if (link) {
      event.preventDefault();
      switchPeriod(link);
    } else if (event.target.closest("[data-retry]")) {
      refresh(true);
    }
  });
  if (refreshButton) {
    refreshButton.hidden = false;
    refreshButton.addEventListener("click", function () { refresh(true); });
  }

  var period = (config.refreshSeconds || 45) * 1000;
  window.setInterval(function () {
    if (!document.hidden) refresh();
  }, period);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && Date.now() - lastSuccess > period) refresh();
  });
})();
