/* The sandbox page: a small Slack client for the sandbox's workspace.
 *
 * State comes from the server's event stream (/sandbox/stream): a snapshot, then every new or
 * changed message. What the person does goes to /sandbox/say and /sandbox/click, which the
 * server delivers to the bot as signed Slack requests. Nothing is drawn with innerHTML.
 */
(function () {
  "use strict";

  var EXAMPLES = [
    ["Duplicate name", "Duplicate Name Exists Error. The name supplied already exists. Another customer, " +
      "supplier, or employee is already using this name. Please use a different name."],
    ["Product not exported", "Product \"Oak Side Table\" in \"SO-10452\" has not been exported to QuickBooks. " +
      "Please check the export status in sync history"],
    ["Currency mismatch", "The transaction needs to be in the same currency as the A/R and A/P accounts you use."],
    ["Period closed", "The account period has closed and the account books cannot be updated through the " +
      "QBO Services API. Please use the QBO website to make these changes."],
  ];
  var MENTION = "@SyncMedic ";
  // Slack collapses a long message behind "Show more": past this many lines or characters.
  var COLLAPSE_LINES = 8;
  var COLLAPSE_CHARS = 700;

  var state = {
    users: {}, channels: [], messages: new Map(), current: null, thread: "", home: null,
    unread: {}, you: "", casesOpen: false,
  };
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // -- talking to the server ------------------------------------------------------------------

  function post(path, body) {
    return fetch(path, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}),
    }).then(function (resp) {
      if (!resp.ok) throw new Error("the server answered " + resp.status);
      return resp.json();
    });
  }

  var toastTimer = null;
  function toast(text, isError) {
    var node = $("toast");
    node.textContent = text;
    node.classList.toggle("error", !!isError);
    node.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { node.hidden = true; }, 8000);
  }

  function failed(error) {
    toast("Something went wrong: " + (error && error.message ? error.message : error), true);
  }

  function connect() {
    var source = new EventSource("/sandbox/stream");
    source.addEventListener("snapshot", function (e) { onSnapshot(JSON.parse(e.data)); });
    source.addEventListener("upsert", function (e) { onUpsert(JSON.parse(e.data)); });
    source.addEventListener("remove", function (e) { onRemove(JSON.parse(e.data)); });
    source.addEventListener("clock", function (e) { setNow(JSON.parse(e.data).now); });
    source.addEventListener("home", function (e) {
      state.home = JSON.parse(e.data).blocks;
      if (state.current === "home") renderHome();
    });
    source.addEventListener("open", function () { $("offline").hidden = true; });
    source.addEventListener("error", function () { $("offline").hidden = false; });
  }

  function onSnapshot(data) {
    state.users = data.users;
    state.channels = data.channels;
    state.you = data.you;
    state.home = data.home;
    state.messages = new Map();
    data.messages.forEach(function (m) { state.messages.set(m.ts, m); });
    $("workspace").textContent = data.team + " workspace";
    $("tz").textContent = data.tz;
    $("sample-link").href = data.sample;
    setNow(data.now);
    if (data.clock_restored && !state.current) {
      toast("The sandbox restarted; its clock went on from where it was (" + data.clock_restored + ").");
    }
    if (!state.current) state.current = fromHash() || data.channels[data.channels.length - 1].id;
    renderSidebar();
    show(state.current, true);
    document.body.dataset.ready = "true";
  }

  function onUpsert(message) {
    var isNew = !state.messages.has(message.ts);
    state.messages.set(message.ts, message);
    if (message.channel === state.current) {
      redrawThreadOf(message, isNew);
    } else if (isNew) {
      state.unread[message.channel] = (state.unread[message.channel] || 0) + 1;
      renderSidebar();
    }
    if (state.casesOpen) refreshCasesSoon();
  }

  function onRemove(data) {
    state.messages.delete(data.ts);
    if (data.channel === state.current) renderMessages();
  }

  function setNow(text) {
    $("now").textContent = text;
  }

  // -- sidebar and conversations -----------------------------------------------------------------

  function channel(id) {
    for (var i = 0; i < state.channels.length; i++) if (state.channels[i].id === id) return state.channels[i];
    return null;
  }

  function renderSidebar() {
    var lists = { channel: $("channels"), im: $("dms") };
    lists.channel.replaceChildren();
    lists.im.replaceChildren();
    state.channels.forEach(function (c) {
      var item = el("li");
      var btn = el("button", "conv" + (c.id === state.current ? " active" : ""));
      btn.type = "button";
      btn.dataset.conv = c.id;
      var icon = btn.appendChild(el("span", "conv-icon", c.kind === "channel" ? "#" : "●"));
      icon.setAttribute("aria-hidden", "true");
      btn.appendChild(el("span", "conv-name", c.name));
      if (state.unread[c.id]) btn.appendChild(el("span", "badge", state.unread[c.id]));
      btn.addEventListener("click", function () { show(c.id); });
      item.appendChild(btn);
      lists[c.kind === "channel" ? "channel" : "im"].appendChild(item);
    });
    $("home-tab").classList.toggle("active", state.current === "home");
    $("insights-tab").classList.toggle("active", state.current === "insights");
  }

  function show(id, keepHash) {
    state.current = id;
    state.thread = "";
    delete state.unread[id];
    renderSidebar();
    var home = id === "home", insights = id === "insights";
    $("messages").hidden = home || insights;
    $("composer").hidden = home || insights;
    $("home").hidden = !home;
    $("insights").hidden = !insights;
    if (insights) {  // the admin's report (insights.js)
      $("conv-title").textContent = "Insights";
      $("conv-topic").textContent = "What the bot solved, where it failed, what it does not know yet: the last 30 days.";
      window.SandboxInsights.load($("insights")).catch(failed);
      if (!keepHash) history.replaceState(null, "", "#insights");
      return;
    }
    if (home) {
      $("conv-title").textContent = "SyncMedic Home";
      $("conv-topic").textContent = "The bot's App Home tab: your open cases.";
      renderHome();
      post("/sandbox/home").then(function (r) { if (!r.ok) toast(r.error, true); }).catch(failed);
      return;
    }
    var c = channel(id);
    $("conv-title").textContent = c.kind === "channel" ? "#" + c.name : c.name;
    $("conv-topic").textContent = c.topic;
    var input = $("input");
    input.placeholder = c.kind === "channel" ? "Message #" + c.name + " (mention @SyncMedic to ask it)"
      : "Paste a sync error for SyncMedic";
    input.value = c.kind === "channel" && c.id !== "C0ESCALATE" ? MENTION : "";
    setThread("");
    renderMessages();
    if (!keepHash) history.replaceState(null, "", "#" + id);
  }

  function fromHash() {
    var parts = decodeURIComponent(location.hash.slice(1)).split("/");
    return parts[0] === "insights" || channel(parts[0]) ? parts[0] : null;
  }

  function followHash() {
    var parts = decodeURIComponent(location.hash.slice(1)).split("/");
    if (parts[0] === "insights" && state.current !== "insights") return show("insights", true);
    if (!channel(parts[0])) return;
    if (parts[0] !== state.current) show(parts[0], true);
    var node = parts[1] && document.querySelector('.msg[data-ts="' + CSS.escape(parts[1]) + '"]');
    if (node) {
      node.scrollIntoView({ block: "center" });
      node.classList.add("highlight");
    }
  }

  // -- messages -----------------------------------------------------------------------------------

  function rootOf(message) {
    var parent = message.thread_ts && message.thread_ts !== message.ts && state.messages.get(message.thread_ts);
    return parent && parent.channel === message.channel ? parent : message;
  }

  function inCurrent() {
    var list = [];
    state.messages.forEach(function (m) { if (m.channel === state.current) list.push(m); });
    return list.sort(function (a, b) { return a.seq - b.seq; });
  }

  function renderMessages() {
    var box = $("messages");
    box.replaceChildren();
    var all = inCurrent();
    var roots = all.filter(function (m) { return rootOf(m) === m; });
    if (!roots.length) {
      box.appendChild(el("p", "empty", state.current.charAt(0) === "D"
        ? "Paste an error from DEAR's sync history below and SyncMedic will diagnose it."
        : "Mention @SyncMedic with a sync error and it answers in a thread."));
    }
    roots.forEach(function (root) { box.appendChild(renderThread(root, all)); });
    box.scrollTop = box.scrollHeight;
  }

  function redrawThreadOf(message, isNew) {
    var box = $("messages");
    var nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 120;
    var root = rootOf(message);
    var existing = box.querySelector('.msg-group[data-root="' + CSS.escape(root.ts) + '"]');
    if (!existing && !isNew) return;
    var empty = box.querySelector(".empty");
    if (empty) empty.remove();
    var node = renderThread(root, inCurrent());
    if (existing) existing.replaceWith(node);
    else box.appendChild(node);
    if (isNew && (nearBottom || message.user === state.you)) box.scrollTop = box.scrollHeight;
  }

  function renderThread(root, all) {
    var group = el("div", "msg-group");
    group.dataset.root = root.ts;
    group.appendChild(renderMessage(root));
    var replies = all.filter(function (m) { return m !== root && rootOf(m) === root; });
    if (replies.length) {
      var thread = el("div", "thread");
      thread.appendChild(el("div", "thread-count", replies.length === 1 ? "1 reply" : replies.length + " replies"));
      replies.forEach(function (reply) { thread.appendChild(renderMessage(reply)); });
      group.appendChild(thread);
    }
    var reply = el("button", "link reply-link", replies.length ? "Reply in thread" : "Reply in a thread");
    reply.type = "button";
    reply.addEventListener("click", function () { setThread(root.ts); });
    group.appendChild(reply);
    return group;
  }

  function renderMessage(message) {
    var node = el("div", "msg " + (message.bot ? "bot" : "person"));
    node.dataset.ts = message.ts;
    if (message.kind) node.dataset.kind = message.kind;
    var avatar = el("div", "avatar", message.author.charAt(0).toUpperCase());
    avatar.setAttribute("aria-hidden", "true");
    node.appendChild(avatar);
    var body = el("div", "msg-body");
    var meta = el("div", "meta");
    meta.appendChild(el("span", "author", message.author));
    if (message.bot) meta.appendChild(el("span", "app-tag", "APP"));
    var time = el("time", "time", message.time);
    time.dateTime = message.at;
    meta.appendChild(time);
    body.appendChild(meta);
    var ctx = {
      users: state.users, channels: state.channels,
      onAction: function (action, control) { act(message, action, control); },
    };
    if (message.blocks && message.blocks.length && message.bot) {
      body.appendChild(BlockKit.render(message.blocks, ctx));
    } else {
      var text = el("div", "msg-text");
      text.appendChild(BlockKit.mrkdwn(message.text, ctx));
      body.appendChild(text);
      if (isLong(message.text)) collapse(body, text);
    }
    node.appendChild(body);
    return node;
  }

  function isLong(text) {
    return (text || "").split("\n").length > COLLAPSE_LINES || (text || "").length > COLLAPSE_CHARS;
  }

  // A long message shows its first lines and a "Show more" that opens the rest, as Slack does.
  function collapse(body, text) {
    text.classList.add("collapsed");
    var toggle = el("button", "link show-more", "Show more");
    toggle.type = "button";
    toggle.setAttribute("aria-expanded", "false");
    toggle.addEventListener("click", function () {
      var open = text.classList.toggle("collapsed") === false;
      toggle.textContent = open ? "Show less" : "Show more";
      toggle.setAttribute("aria-expanded", String(open));
    });
    body.appendChild(toggle);
  }

  function act(message, action, control) {
    var node = control.closest(".msg");
    var controls = node ? node.querySelectorAll("button.bk-btn, select.bk-select, button.bk-overflow-button") : [control];
    controls.forEach(function (c) { c.disabled = true; });
    var again = function () { controls.forEach(function (c) { c.disabled = false; }); };
    post("/sandbox/click", {
      ts: message.ts, block_id: action.block_id, action_id: action.action_id, option: action.option || null,
    }).then(function (r) {
      if (!r.ok) toast(r.error, true);
      again();
    }).catch(function (error) { again(); failed(error); });
  }

  // -- composer -------------------------------------------------------------------------------

  function setThread(ts) {
    state.thread = ts;
    $("thread-target").hidden = !ts;
    if (ts) {
      var input = $("input");
      if (input.value.trim() === MENTION.trim()) input.value = "";
      input.focus();
    }
  }

  function send(event) {
    if (event) event.preventDefault();
    var input = $("input");
    var text = input.value;
    if (!text.trim() || text.trim() === MENTION.trim()) return;
    var thread = state.thread;
    $("send").disabled = true;
    post("/sandbox/say", { channel: state.current, text: text, thread_ts: thread }).then(function (r) {
      $("send").disabled = false;
      if (!r.ok) {
        toast(r.error, true);
        return;
      }
      var c = channel(state.current);
      input.value = c && c.kind === "channel" && !thread && c.id !== "C0ESCALATE" ? MENTION : "";
    }).catch(function (error) { $("send").disabled = false; failed(error); });
  }

  function setUpComposer() {
    $("composer").addEventListener("submit", send);
    $("input").addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) send(e);
    });
    $("cancel-thread").addEventListener("click", function () { setThread(""); });
    EXAMPLES.forEach(function (example) {
      var btn = el("button", "chip", example[0]);
      btn.type = "button";
      btn.title = example[1];
      btn.addEventListener("click", function () {
        var c = channel(state.current);
        $("input").value = (c && c.kind === "channel" && !state.thread ? MENTION : "") + example[1];
        $("input").focus();
      });
      $("examples").appendChild(btn);
    });
  }

  // -- App Home -------------------------------------------------------------------------------

  function renderHome() {
    var box = $("home");
    box.replaceChildren();
    if (!state.home) {
      box.appendChild(el("p", "empty", "Opening the Home tab…"));
      return;
    }
    // Home's buttons are for admins in a real workspace; here they are shown, not clickable.
    box.appendChild(BlockKit.render(state.home, { users: state.users, channels: state.channels, onAction: null }));
  }

  // -- controls -------------------------------------------------------------------------------

  function plural(n, one, many) { return n + " " + (n === 1 ? one : many); }

  // Every row read is in exactly one bucket, so the parts add up to the rows read.
  function importSummary(file, n) {
    var buckets = [
      [n.errors_tracked, "new sync error", "new sync errors"], [n.updated, "seen again", "seen again"],
      [n.unchanged, "already known", "already known"], [n.reopened, "re-opened", "re-opened"],
      [n.resolved, "resolved", "resolved"], [n.skipped, "with nothing to do", "with nothing to do"],
      [n.problems_total, "skipped as unreadable", "skipped as unreadable"],
    ];
    var parts = buckets.filter(function (b) { return b[0]; }).map(function (b) { return plural(b[0], b[1], b[2]); });
    return "Imported " + file + ": " + plural(n.rows_read, "row", "rows") + (parts.length ? ": " + parts.join(", ") : "") + ".";
  }

  function busy(button, work) {
    button.disabled = true;
    return work.then(function (r) { button.disabled = false; return r; },
      function (error) { button.disabled = false; throw error; });
  }

  function setUpControls() {
    document.querySelectorAll("[data-step]").forEach(function (button) {
      button.addEventListener("click", function () {
        busy(button, post("/sandbox/clock", { step: button.dataset.step })).then(function (r) {
          setNow(r.now);
          toast("Sandbox time is now " + r.now + ". " + plural(r.checkins, "check-in", "check-ins") + " sent" +
            (r.digests ? ", and the daily digest posted." : "."));
          if (state.casesOpen) refreshCases();
          // The Home tab's ages ("Asked 2 hours ago") are worked out when it is published: again.
          if (state.current === "home") post("/sandbox/home").catch(failed);
        }).catch(failed);
      });
    });
    $("post-digest").addEventListener("click", function () {
      var button = $("post-digest");
      busy(button, post("/sandbox/digest")).then(function (r) {
        if (!r.ok) return toast(r.error, true);
        if (state.current !== "C0QBOSYNC") show("C0QBOSYNC");
        toast("Posted the digest to #qbo-sync: " + plural(r.total, "open entry", "open entries") + ".");
      }).catch(failed);
    });
    $("import-sample").addEventListener("click", function () {
      var button = $("import-sample");
      busy(button, post("/sandbox/import-sample")).then(function (r) {
        toast(importSummary(r.file, r.report) + " Post the digest to see them.");
        if (state.casesOpen) refreshCases();
      }).catch(failed);
    });
    $("show-cases").addEventListener("click", function () { toggleCases(!state.casesOpen); });
    $("close-cases").addEventListener("click", function () { toggleCases(false); });
    $("home-tab").addEventListener("click", function () { show("home"); });
    $("insights-tab").addEventListener("click", function () { show("insights"); });
    window.addEventListener("hashchange", followHash);
  }

  // -- cases panel ----------------------------------------------------------------------------

  function toggleCases(open) {
    state.casesOpen = open;
    $("cases").hidden = !open;
    $("app").classList.toggle("with-cases", open);
    $("show-cases").setAttribute("aria-expanded", String(open));
    if (open) refreshCases();
  }

  var casesTimer = null;
  function refreshCasesSoon() {
    clearTimeout(casesTimer);
    casesTimer = setTimeout(refreshCases, 400);
  }

  function refreshCases() {
    fetch("/sandbox/cases").then(function (resp) {
      if (!resp.ok) throw new Error("the server answered " + resp.status);
      return resp.json();
    }).then(renderCases).catch(failed);
  }

  function table(headings, rows) {
    var t = el("table", "case-table");
    var head = el("tr");
    headings.forEach(function (h) { head.appendChild(el("th", null, h)); });
    t.appendChild(el("thead")).appendChild(head);
    var body = el("tbody");
    rows.forEach(function (cells) {
      var tr = el("tr");
      cells.forEach(function (cell) {
        var td = el("td");
        if (cell && typeof cell === "object") td.appendChild(cell);
        else td.textContent = cell === null || cell === undefined ? "" : String(cell);
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    t.appendChild(body);
    return t;
  }

  function status(text) {
    return el("span", "status status-" + text, text);
  }

  function renderCases(data) {
    var box = $("cases-body");
    box.replaceChildren();
    box.appendChild(el("p", "cases-now", "As of " + data.now));
    box.appendChild(el("h3", null, "Chat cases (" + data.cases.length + ")"));
    if (data.cases.length) {
      box.appendChild(table(["Problem", "Status", "Where", "Opened", "Next check-in"], data.cases.map(function (c) {
        return [c.title, status(c.status), c.where, c.created, c.next_checkin || "none"];
      })));
    } else {
      box.appendChild(el("p", "empty", "No cases yet: paste an error in the DM."));
    }
    box.appendChild(el("h3", null, "Imported sync errors (" + data.sync_errors.length + ")"));
    if (data.sync_errors.length) {
      box.appendChild(table(["Entry", "Problem", "Status", "Seen"], data.sync_errors.map(function (e) {
        return [e.kind + " " + e.reference, e.title, status(e.status), e.occurrences + "×, last " + e.last_seen];
      })));
    } else {
      box.appendChild(el("p", "empty", "None yet: use Import sample sync history."));
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpComposer();
    setUpControls();
    connect();
  });
})();
