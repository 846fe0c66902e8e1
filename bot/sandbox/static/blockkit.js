/* Block Kit and mrkdwn, drawn the way a Slack client draws them.
 *
 * Everything is built with DOM calls and text nodes: no string from a message is ever parsed
 * as HTML. Links are made only for http(s) and mailto URLs.
 *
 * BlockKit.render(blocks, ctx) -> element
 * BlockKit.mrkdwn(text, ctx)   -> DocumentFragment
 * ctx: {users: {id: {real_name}}, channels: [{id, name}], onAction(action, control) | null}
 *   action = {block_id, action_id, option?}; with no onAction the controls are shown disabled.
 */
(function () {
  "use strict";

  var ENTITIES = { lt: "<", gt: ">", amp: "&" };
  // Order matters: code first (nothing inside it is formatted), then Slack's <...> tokens,
  // then *bold*, _italic_ and ~strike~, which must sit at word boundaries, as in Slack.
  var INLINE = new RegExp(
    "```([\\s\\S]+?)```" +
    "|`([^`\\n]+?)`" +
    "|<([^<>\\n]+)>" +
    "|(?<![\\p{L}\\p{N}*])\\*(?=\\S)([^*\\n]+?)(?<=\\S)\\*(?![\\p{L}\\p{N}*])" +
    "|(?<![\\p{L}\\p{N}_])_(?=\\S)([^_\\n]+?)(?<=\\S)_(?![\\p{L}\\p{N}_])" +
    "|(?<![\\p{L}\\p{N}~])~(?=\\S)([^~\\n]+?)(?<=\\S)~(?![\\p{L}\\p{N}~])",
    "gu");
  var MAX_DEPTH = 4;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function decode(text) {
    return String(text).replace(/&(lt|gt|amp);/g, function (_, name) { return ENTITIES[name]; });
  }

  function userName(ctx, id) {
    var user = ctx && ctx.users && ctx.users[id];
    return user ? user.real_name : id;
  }

  function channelName(ctx, id) {
    var list = (ctx && ctx.channels) || [];
    for (var i = 0; i < list.length; i++) {
      if (list[i].id === id) return list[i].name;
    }
    return id;
  }

  function safeUrl(url) {
    return /^(https?:\/\/|mailto:)/i.test(url) ? url : null;
  }

  function sameOrigin(url) {
    try {
      return new URL(url, window.location.href).origin === window.location.origin;
    } catch (e) {
      return false;
    }
  }

  /* <@U123>, <#C123|name>, <!here>, <!subteam^S1|@group>, <!date^...|fallback>, <url|label> */
  function special(body, ctx) {
    var bar = body.indexOf("|");
    var target = bar >= 0 ? body.slice(0, bar) : body;
    var label = bar >= 0 ? decode(body.slice(bar + 1)) : "";
    if (target.charAt(0) === "@") return el("span", "mention", "@" + (label || userName(ctx, target.slice(1))));
    if (target.charAt(0) === "#") {
      return el("span", "mention channel", "#" + (label || channelName(ctx, target.slice(1))));
    }
    if (target.indexOf("!date^") === 0) {
      var stamp = Number(target.split("^")[1]);
      var shown = label || (isFinite(stamp) ? new Date(stamp * 1000).toLocaleString() : target);
      return el("time", "date", shown);
    }
    if (target.indexOf("!subteam^") === 0) return el("span", "mention", "@" + (label.replace(/^@/, "") || "team"));
    if (target.charAt(0) === "!") return el("span", "mention", "@" + target.slice(1));
    var url = safeUrl(decode(target));
    if (!url) return document.createTextNode(label || decode(target));
    var link = el("a", "link", label || url);
    link.href = url;
    if (!sameOrigin(url)) {
      link.target = "_blank";
      link.rel = "noopener noreferrer";
    }
    return link;
  }

  function appendInline(parent, text, ctx, depth) {
    var last = 0;
    var matches = text.matchAll(INLINE);
    for (var step = matches.next(); !step.done; step = matches.next()) {
      var m = step.value;
      if (m.index > last) parent.appendChild(document.createTextNode(decode(text.slice(last, m.index))));
      if (m[1] !== undefined) {
        parent.appendChild(el("pre", "pre", decode(m[1].replace(/^\n/, ""))));
      } else if (m[2] !== undefined) {
        parent.appendChild(el("code", "code", decode(m[2])));
      } else if (m[3] !== undefined) {
        parent.appendChild(special(m[3], ctx));
      } else {
        var tag = m[4] !== undefined ? "strong" : m[5] !== undefined ? "em" : "s";
        var inner = m[4] !== undefined ? m[4] : m[5] !== undefined ? m[5] : m[6];
        var node = el(tag);
        if (depth < MAX_DEPTH) appendInline(node, inner, ctx, depth + 1);
        else node.textContent = decode(inner);
        parent.appendChild(node);
      }
      last = m.index + m[0].length;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(decode(text.slice(last))));
  }

  function mrkdwn(text, ctx) {
    var fragment = document.createDocumentFragment();
    appendInline(fragment, String(text || ""), ctx || {}, 0);
    return fragment;
  }

  function textObject(obj, ctx, className) {
    var node = el("div", className);
    if (!obj) return node;
    if (obj.type === "mrkdwn") node.appendChild(mrkdwn(obj.text, ctx));
    else node.textContent = String(obj.text || "");
    return node;
  }

  function plain(obj) {
    return obj && obj.text !== undefined ? String(obj.text) : "";
  }

  // -- interactive elements -------------------------------------------------------------------

  function button(element, block, ctx) {
    var node = el("button", "bk-btn", plain(element.text));
    node.type = "button";
    if (element.style === "primary" || element.style === "danger") node.classList.add(element.style);
    node.dataset.actionId = element.action_id || "";
    node.dataset.blockId = block.block_id || "";
    if (!ctx.onAction) {
      node.disabled = true;
      return node;
    }
    node.addEventListener("click", function () {
      ctx.onAction({ block_id: block.block_id || "", action_id: element.action_id || "" }, node);
      var url = element.url && safeUrl(element.url);
      if (url) window.open(url, "_blank", "noopener");
    });
    return node;
  }

  function select(element, block, ctx) {
    var node = el("select", "bk-select");
    node.dataset.actionId = element.action_id || "";
    node.dataset.blockId = block.block_id || "";
    var placeholder = el("option", null, plain(element.placeholder) || "Select an item");
    placeholder.value = "";
    placeholder.disabled = true;
    placeholder.selected = true;
    node.appendChild(placeholder);
    node.setAttribute("aria-label", placeholder.textContent);
    var addOptions = function (parent, options) {
      (options || []).forEach(function (option) {
        var item = el("option", null, plain(option.text));
        item.value = String(option.value || "");
        parent.appendChild(item);
      });
    };
    addOptions(node, element.options);
    (element.option_groups || []).forEach(function (group) {
      var optgroup = el("optgroup");
      optgroup.label = plain(group.label);
      addOptions(optgroup, group.options);
      node.appendChild(optgroup);
    });
    if (!ctx.onAction) {
      node.disabled = true;
      return node;
    }
    node.addEventListener("change", function () {
      ctx.onAction({ block_id: block.block_id || "", action_id: element.action_id || "", option: node.value }, node);
    });
    return node;
  }

  /* Slack's overflow menu: a "⋯" button that opens a list of choices beside it. */
  function overflow(element, block, ctx) {
    var wrap = el("div", "bk-overflow");
    var toggle = el("button", "bk-overflow-button", "⋯");
    toggle.type = "button";
    toggle.setAttribute("aria-label", "More actions");
    toggle.setAttribute("aria-haspopup", "menu");
    toggle.setAttribute("aria-expanded", "false");
    toggle.dataset.actionId = element.action_id || "";
    toggle.dataset.blockId = block.block_id || "";
    wrap.appendChild(toggle);
    if (!ctx.onAction) {
      toggle.disabled = true;
      return wrap;
    }
    var menu = el("div", "bk-menu");
    menu.setAttribute("role", "menu");
    menu.hidden = true;
    var close = function () {
      menu.hidden = true;
      toggle.setAttribute("aria-expanded", "false");
      document.removeEventListener("click", outside, true);
    };
    var outside = function (event) { if (!wrap.contains(event.target)) close(); };
    (element.options || []).forEach(function (option) {
      var item = el("button", "bk-menu-item", plain(option.text));
      item.type = "button";
      item.setAttribute("role", "menuitem");
      item.addEventListener("click", function () {
        close();
        ctx.onAction({ block_id: block.block_id || "", action_id: element.action_id || "",
                       option: String(option.value || "") }, toggle);
      });
      menu.appendChild(item);
    });
    toggle.addEventListener("click", function () {
      var open = menu.hidden;
      menu.hidden = !open;
      toggle.setAttribute("aria-expanded", String(open));
      if (open) document.addEventListener("click", outside, true);
      else document.removeEventListener("click", outside, true);
    });
    wrap.addEventListener("keydown", function (event) { if (event.key === "Escape") { close(); toggle.focus(); } });
    wrap.appendChild(menu);
    return wrap;
  }

  function element(item, block, ctx) {
    if (!item || typeof item !== "object") return el("span");
    if (item.type === "button") return button(item, block, ctx);
    if (item.type === "overflow") return overflow(item, block, ctx);
    if (item.type === "static_select") return select(item, block, ctx);
    if (item.type === "image") return el("span", "bk-image", item.alt_text || "image");
    if (item.type === "mrkdwn" || item.type === "plain_text") return textObject(item, ctx, "bk-context-item");
    return el("span", "bk-unsupported", "[" + item.type + "]");
  }

  // -- blocks ---------------------------------------------------------------------------------

  function richText(block) {
    var parts = [];
    (function walk(items) {
      (items || []).forEach(function (item) {
        if (item.text) parts.push(item.text);
        if (item.elements) walk(item.elements);
      });
    })(block.elements);
    return el("div", "bk-text", parts.join(""));
  }

  function renderBlock(block, ctx) {
    var type = block && block.type;
    if (type === "header") return el("div", "bk-header", plain(block.text));
    if (type === "divider") return el("hr", "bk-divider");
    if (type === "section") {
      var section = el("div", "bk-section");
      var main = el("div", "bk-section-main");
      if (block.text) main.appendChild(textObject(block.text, ctx, "bk-text"));
      if (block.fields && block.fields.length) {
        var fields = el("div", "bk-fields");
        block.fields.forEach(function (field) { fields.appendChild(textObject(field, ctx, "bk-text")); });
        main.appendChild(fields);
      }
      section.appendChild(main);
      if (block.accessory) {
        var accessory = el("div", "bk-accessory");
        accessory.appendChild(element(block.accessory, block, ctx));
        section.appendChild(accessory);
      }
      return section;
    }
    if (type === "context") {
      var context = el("div", "bk-context");
      (block.elements || []).forEach(function (item) { context.appendChild(element(item, block, ctx)); });
      return context;
    }
    if (type === "actions") {
      var actions = el("div", "bk-actions");
      (block.elements || []).forEach(function (item) { actions.appendChild(element(item, block, ctx)); });
      return actions;
    }
    if (type === "image") return el("div", "bk-image", block.alt_text || "image");
    if (type === "rich_text") return richText(block);
    return el("div", "bk-unsupported", "[unsupported block: " + type + "]");
  }

  function render(blocks, ctx) {
    var root = el("div", "bk");
    (blocks || []).forEach(function (block) {
      var node = renderBlock(block, ctx || {});
      if (block && block.block_id) node.dataset.blockId = block.block_id;
      root.appendChild(node);
    });
    return root;
  }

  window.BlockKit = { render: render, mrkdwn: mrkdwn, decode: decode };
})();
