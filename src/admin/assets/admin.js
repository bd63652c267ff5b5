// slotkeeper admin — the only script of the admin pages (no framework, no inline code: the
// content security policy allows only this file).
//
// * Copy buttons: `<button data-copy="TEXT">` copies TEXT to the clipboard (Clipboard API, with
//   a fallback for browsers that refuse it) and says "Kopiert" for a moment. The button keeps
//   the copied text in `data-copied` so a person (or a browser test) can see what was copied.
// * Live counter: `#active-count[data-endpoint]` is refreshed every POLL_MS from the server,
//   which also sends its own "now"; relative expiry times (`[data-expires-ms]`) are recomputed
//   from that, and an active row whose expiry has passed turns into an expired one (status is
//   decided by time, as on the server). When the count changes, a "reload" hint appears.
// * `form[data-confirm]` asks before submitting; `select[data-autosubmit]` submits its form.
(function () {
  "use strict";

  var POLL_MS = 5000;

  // Keep in step with `relative_de` in src/admin/format.rs.
  function relativeDe(targetMs, nowMs) {
    var seconds = Math.trunc((targetMs - nowMs) / 1000);
    var magnitude = Math.abs(seconds);
    if (magnitude === 0) {
      return "jetzt";
    }
    var amount;
    if (magnitude < 60) {
      amount = magnitude + " s";
    } else if (magnitude < 3600) {
      amount = Math.floor(magnitude / 60) + " Min.";
    } else if (magnitude < 86400) {
      amount = Math.floor(magnitude / 3600) + " Std.";
    } else {
      var days = Math.floor(magnitude / 86400);
      amount = days === 1 ? "1 Tag" : days + " Tagen";
    }
    return seconds > 0 ? "in " + amount : "vor " + amount;
  }

  function copyWithFallback(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.top = "-1000px";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (e) {
      ok = false;
    }
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () {
        return copyWithFallback(text);
      });
    }
    return copyWithFallback(text);
  }

  function setupCopyButtons() {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      // Our own markup (an icon or a word), restored after the feedback.
      var original = button.innerHTML;
      var iconOnly = button.textContent.trim() === "";
      button.addEventListener("click", function (event) {
        event.preventDefault();
        var text = button.getAttribute("data-copy");
        copy(text).then(
          function () {
            button.setAttribute("data-copied", text);
            button.textContent = iconOnly ? "✓" : "Kopiert ✓";
          },
          function () {
            button.textContent = "Nicht kopiert";
          }
        ).then(function () {
          window.setTimeout(function () {
            button.innerHTML = original;
          }, 1500);
        });
      });
    });
  }

  function refreshTimes(nowMs) {
    document.querySelectorAll("[data-expires-ms]").forEach(function (element) {
      var expiresMs = Number(element.getAttribute("data-expires-ms"));
      var relative = element.querySelector(".relative");
      if (relative) {
        relative.textContent = relativeDe(expiresMs, nowMs);
      }
      var row = element.closest("[data-status]");
      if (row && row.getAttribute("data-status") === "active" && expiresMs <= nowMs) {
        row.setAttribute("data-status", "expired");
        var badge = row.querySelector(".status-badge");
        if (badge) {
          badge.className = "badge badge-danger status-badge";
          badge.textContent = "Abgelaufen";
        }
      }
    });
  }

  function setupLiveCount() {
    var counter = document.getElementById("active-count");
    if (!counter) {
      return;
    }
    var endpoint = counter.getAttribute("data-endpoint");
    var initial = counter.textContent.trim();
    var updated = document.getElementById("count-updated");
    var stale = document.getElementById("stale-notice");

    function poll() {
      if (document.hidden) {
        window.setTimeout(poll, POLL_MS);
        return;
      }
      fetch(endpoint, { credentials: "same-origin", redirect: "manual", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (response.type === "opaqueredirect" || response.status === 303) {
            window.location.assign("/admin/login");
            return null;
          }
          if (!response.ok) {
            throw new Error("status " + response.status);
          }
          return response.json();
        })
        .then(function (body) {
          if (!body) {
            return;
          }
          counter.textContent = String(body.active);
          refreshTimes(body.now_ms);
          if (updated) {
            updated.textContent = "aktualisiert " + new Date().toLocaleTimeString("de-DE");
          }
          if (stale && String(body.active) !== initial) {
            stale.hidden = false;
          }
        })
        .catch(function () {
          if (updated) {
            updated.textContent = "Verbindung unterbrochen – neuer Versuch …";
          }
        })
        .then(function () {
          window.setTimeout(poll, POLL_MS);
        });
    }
    window.setTimeout(poll, POLL_MS);
  }

  function setupConfirmations() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) {
          event.preventDefault();
        }
      });
    });
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () {
        if (select.form) {
          select.form.submit();
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupCopyButtons();
    setupLiveCount();
    setupConfirmations();
  });
})();
