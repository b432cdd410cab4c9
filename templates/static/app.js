/* The marketplace's one script: icon fallbacks, the "/" shortcut and the search.
   The search loads api/v1/search.json once, on first use, and keeps its query in the URL
   (?q=&tier=&publisher=&auth=&drafts=1). Everything it shows is set with textContent. */
(function () {
  "use strict";

  var LIMIT = 96;

  function noop() {}

  /* -- icons: a broken image leaves the monogram behind it visible ------------------------ */

  function watchIcons() {
    document.addEventListener("error", function (event) {
      var target = event.target;
      if (target instanceof HTMLImageElement && target.closest(".app-icon")) {
        target.hidden = true;
      }
    }, true);
    document.querySelectorAll(".app-icon img").forEach(function (img) {
      if (img.complete) {
        img.decode().catch(function () { img.hidden = true; });
      }
    });
  }

  /* -- "/" focuses the search box ---------------------------------------------------------- */

  function isTyping(element) {
    if (!element) return false;
    var tag = element.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || element.isContentEditable;
  }

  function watchShortcut() {
    document.addEventListener("keydown", function (event) {
      if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
      if (isTyping(document.activeElement)) return;
      var box = document.getElementById("q") || document.getElementById("site-search");
      if (box) {
        event.preventDefault();
        box.focus();
      }
    });
  }

  /* -- search -------------------------------------------------------------------------------- */

  function normalize(text) {
    return String(text || "").normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function monogram(name) {
    var match = /[\p{L}\p{N}]/u.exec(name || "");
    return match ? match[0].toUpperCase() : "?";
  }

  function optionLabels(select) {
    var labels = {};
    Array.prototype.forEach.call(select.options, function (option) {
      if (option.value) labels[option.value] = option.textContent;
    });
    return labels;
  }

  function Search(form) {
    var input = form.querySelector("#q");
    var selects = {
      tier: form.querySelector("#f-tier"),
      publisher: form.querySelector("#f-publisher"),
      auth: form.querySelector("#f-auth")
    };
    var drafts = form.querySelector("#f-drafts");
    var clearButton = form.querySelector("[data-clear]");
    var sortLinks = Array.prototype.slice.call(form.querySelectorAll("[data-sort-link]"));
    var root = new URL(form.getAttribute("data-root"), window.location.href);
    var indexUrl = new URL(form.getAttribute("data-index"), window.location.href);
    var sort = form.getAttribute("data-sort") || "name";
    var results = document.getElementById("results");
    var list = document.getElementById("results-list");
    var status = document.getElementById("results-status");
    var empty = document.getElementById("results-empty");
    var browse = document.querySelector("[data-browse]");
    var template = document.getElementById("card-template");
    var tierLabels = optionLabels(selects.tier);
    var data = null;
    var loading = null;
    var generation = 0;

    sortLinks.forEach(function (link) { link.setAttribute("data-href", link.getAttribute("href")); });

    function load() {
      if (!loading) {
        loading = fetch(indexUrl.href, { credentials: "same-origin" })
          .then(function (response) {
            if (!response.ok) throw new Error("search index: HTTP " + response.status);
            return response.json();
          })
          .then(function (index) {
            fillPublishers(index);
            data = prepare(index);
            return data;
          });
        loading.catch(function () { loading = null; });
      }
      return loading;
    }

    // A catalog with many publishers leaves the publisher filter's options to search.json.
    function fillPublishers(index) {
      var select = selects.publisher;
      if (!select.hasAttribute("data-fill")) return;
      select.removeAttribute("data-fill");
      var chosen = select.value;
      var names = index.publishers || {};
      var ids = Object.keys(names).sort(function (a, b) {
        return String(names[a]).localeCompare(String(names[b]));
      });
      while (select.options.length > 1) select.remove(1);
      ids.forEach(function (id) {
        var option = document.createElement("option");
        option.value = id;
        option.textContent = names[id];
        select.appendChild(option);
      });
      setSelect(select, chosen);
    }

    function prepare(index) {
      var publishers = index.publishers || {};
      return (index.integrations || []).map(function (item) {
        var publisherName = publishers[item.publisher] || item.publisher;
        var members = (item.members || []).join(" ");
        return {
          item: item,
          publisherName: publisherName,
          name: normalize(item.name),
          publisher: normalize(item.publisher + " " + publisherName),
          members: normalize(members),
          text: normalize([item.name, item.description, item.publisher, publisherName, members].join(" "))
        };
      });
    }

    function state() {
      return {
        q: input.value.trim(),
        tier: selects.tier.value,
        publisher: selects.publisher.value,
        auth: selects.auth.value,
        drafts: drafts.checked
      };
    }

    function active(s) {
      return Boolean(s.q || s.tier || s.publisher || s.auth || s.drafts);
    }

    function query(s) {
      var params = new URLSearchParams();
      if (s.q) params.set("q", s.q);
      ["tier", "publisher", "auth"].forEach(function (name) {
        if (s[name]) params.set(name, s[name]);
      });
      if (s.drafts) params.set("drafts", "1");
      var text = params.toString();
      return text ? "?" + text : "";
    }

    function setSelect(select, value) {
      select.value = value || "";
      if (select.value !== (value || "")) select.value = "";
    }

    function readUrl() {
      var params = new URLSearchParams(window.location.search);
      input.value = params.get("q") || "";
      setSelect(selects.tier, params.get("tier"));
      var publisher = params.get("publisher");
      if (publisher && selects.publisher.hasAttribute("data-fill")) {
        var option = document.createElement("option");  // until the real list arrives
        option.value = publisher;
        option.textContent = publisher;
        selects.publisher.appendChild(option);
      }
      setSelect(selects.publisher, publisher);
      setSelect(selects.auth, params.get("auth"));
      drafts.checked = params.get("drafts") === "1";
    }

    function sync(s) {
      var search = query(s);
      var url = window.location.pathname + search + window.location.hash;
      if (url !== window.location.pathname + window.location.search + window.location.hash) {
        window.history.replaceState(null, "", url);
      }
      sortLinks.forEach(function (link) {
        link.setAttribute("href", link.getAttribute("data-href") + search);
      });
      Object.keys(selects).forEach(function (name) {
        selects[name].closest(".pill").classList.toggle("is-set", Boolean(s[name]));
      });
      drafts.closest(".pill").classList.toggle("is-set", s.drafts);
      clearButton.hidden = !active(s);
    }

    function matches(entry, s, words) {
      var item = entry.item;
      if (s.tier && item.tier !== s.tier) return false;
      if (s.publisher && item.publisher !== s.publisher) return false;
      if (s.auth && item.auth !== s.auth) return false;
      if (!s.drafts && item.version === null) return false;
      return words.every(function (word) { return entry.text.indexOf(word) !== -1; });
    }

    function score(entry, words) {
      return words.reduce(function (total, word) {
        if (entry.name.indexOf(word) === 0) return total + 8;
        if (entry.name.indexOf(" " + word) !== -1) return total + 6;
        if (entry.name.indexOf(word) !== -1) return total + 4;
        if (entry.publisher.indexOf(word) !== -1) return total + 3;
        if (entry.members.indexOf(word) !== -1) return total + 2;
        return total + 1;
      }, 0);
    }

    function byName(a, b) {
      return a.item.name.localeCompare(b.item.name) || a.item.key.localeCompare(b.item.key);
    }

    function order(found, words) {
      if (words.length) {
        found.forEach(function (entry) { entry.score = score(entry, words); });
        return found.sort(function (a, b) { return b.score - a.score || byName(a, b); });
      }
      if (sort === "updated") {
        return found.sort(function (a, b) {
          return a.item.updated < b.item.updated ? 1 : a.item.updated > b.item.updated ? -1 : byName(a, b);
        });
      }
      return found.sort(byName);
    }

    function iconUrl(value) {
      if (!value) return null;
      var url;
      try {
        url = new URL(value, root);
      } catch (error) {
        return null;
      }
      return url.protocol === "https:" || url.origin === window.location.origin ? url.href : null;
    }

    function card(entry) {
      var item = entry.item;
      var node = template.content.firstElementChild.cloneNode(true);
      var article = node.querySelector(".card");
      if (item.version === null) article.classList.add("is-draft");
      var link = node.querySelector(".card-link");
      link.href = new URL(item.url, root).href;
      link.textContent = item.name;
      node.querySelector(".card-publisher").textContent = entry.publisherName;
      node.querySelector(".card-desc").textContent = item.description || "";
      var icon = node.querySelector(".app-icon");
      icon.classList.add("hue-" + (Number(item.hue) || 0));
      icon.querySelector(".app-icon-mono").textContent = monogram(item.name);
      var src = iconUrl(item.icon);
      if (src) {
        var img = document.createElement("img");
        img.alt = "";
        img.width = 44;
        img.height = 44;
        img.loading = "lazy";
        img.decoding = "async";
        img.src = src;
        icon.appendChild(img);
      }
      var tier = node.querySelector(".badge.tier");
      tier.classList.add("tier-" + item.tier);
      tier.querySelector("[data-field='tier']").textContent = tierLabels[item.tier] || item.tier;
      var version = node.querySelector("[data-field='version']");
      var draft = node.querySelector("[data-field='draft']");
      if (item.version === null) {
        version.remove();
      } else {
        version.textContent = "v" + item.version;
        draft.remove();
      }
      node.querySelectorAll("[data-auth]").forEach(function (chip) {
        if (chip.getAttribute("data-auth") !== item.auth) chip.remove();
      });
      return node;
    }

    function describe(count, s) {
      var text = count === 1 ? "1 integration" : count + " integrations";
      if (s.q) text += " match \u201c" + s.q + "\u201d";
      else text += " match the filters";
      if (count > LIMIT) text += "; showing the first " + LIMIT;
      return text;
    }

    function render(s) {
      var words = normalize(s.q).split(/\s+/).filter(Boolean);
      var found = order(data.filter(function (entry) { return matches(entry, s, words); }), words);
      list.replaceChildren.apply(list, found.slice(0, LIMIT).map(card));
      status.textContent = describe(found.length, s);
      empty.hidden = found.length > 0;
      list.hidden = found.length === 0;
      results.hidden = false;
      browse.hidden = true;
    }

    function showBrowse() {
      results.hidden = true;
      browse.hidden = false;
      list.replaceChildren();
      status.textContent = "";
    }

    function update() {
      var s = state();
      var current = ++generation;
      sync(s);
      if (!active(s)) {
        showBrowse();
        return;
      }
      if (data) {
        render(s);
        return;
      }
      results.hidden = false;
      browse.hidden = true;
      empty.hidden = true;
      status.textContent = "Loading\u2026";
      load().then(function () {
        if (current === generation) render(state());
      }, function () {
        if (current !== generation) return;
        showBrowse();
        results.hidden = false;
        status.textContent = "Search is unavailable right now; every integration is listed below.";
      });
    }

    input.addEventListener("focus", function () { load().catch(noop); });
    selects.publisher.addEventListener("focus", function () { load().catch(noop); });
    input.addEventListener("input", update);
    Object.keys(selects).forEach(function (name) {
      selects[name].addEventListener("change", update);
    });
    drafts.addEventListener("change", update);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      update();
    });
    clearButton.addEventListener("click", function () {
      input.value = "";
      Object.keys(selects).forEach(function (name) { selects[name].value = ""; });
      drafts.checked = false;
      update();
      input.focus();
    });

    readUrl();
    if (active(state())) {
      update();
    } else {
      sync(state());
    }
  }

  watchIcons();
  watchShortcut();
  var form = document.querySelector("form[data-search]");
  if (form) Search(form);
})();
