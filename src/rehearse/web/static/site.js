/* rehearse, every page: the light/dark theme toggle and the length counters of text fields.
 *
 * Theme: the page follows the system's prefers-color-scheme until the person picks one with
 * the toggle; the choice is kept in localStorage and set as <html data-theme> before the
 * page paints (the small inline script in base.html does that part).
 *
 * Counters: every field with data-maxlength shows "n / limit characters" and, past the
 * limit, says by how much and refuses to submit its form, instead of cutting pasted text
 * silently as a maxlength attribute would (issue 11, item 5).
 */
(function () {
  "use strict";

  // -- the JSON API as every page script calls it: the CSRF header on a change, the server's
  // own message on a refusal (error.status is the HTTP status) -----------------------------
  const csrf = document.querySelector('meta[name="csrf-token"]');

  async function api(method, url, body, type) {
    const headers = { Accept: "application/json" };
    if (type) headers["Content-Type"] = type;
    if (csrf && method !== "GET") headers["X-CSRF-Token"] = csrf.content;
    const response = await fetch(url, { method, headers, body, credentials: "same-origin" });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      const error = new Error((data && data.message) || "The server answered " + response.status + ".");
      error.status = response.status;
      throw error;
    }
    return data;
  }

  window.rehearse = Object.freeze({ api: api });

  const root = document.documentElement;
  const toggle = document.getElementById("theme-toggle");
  const dark = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  function current() {
    return root.dataset.theme || (dark && dark.matches ? "dark" : "light");
  }
  function paintToggle() {
    if (!toggle) return;
    const theme = current();
    // the button names the theme it switches to; "theme" is dropped on narrow screens
    const name = document.createElement("span");
    name.textContent = theme === "dark" ? "Light" : "Dark";
    const word = document.createElement("span");
    word.className = "theme-toggle__word";
    word.textContent = " theme";
    toggle.replaceChildren(name, word);
    toggle.setAttribute("aria-label", (theme === "dark" ? "Light" : "Dark") + " theme");
  }
  if (toggle) {
    toggle.hidden = false;
    toggle.addEventListener("click", () => {
      const next = current() === "dark" ? "light" : "dark";
      root.dataset.theme = next;
      try { localStorage.setItem("rehearse:theme", next); } catch (e) { /* not kept */ }
      paintToggle();
    });
  }
  if (dark && dark.addEventListener) dark.addEventListener("change", paintToggle);
  paintToggle();

  const number = (n) => Number(n).toLocaleString("en-US");

  function counted(field) {
    const limit = Number(field.dataset.maxlength);
    const counter = document.getElementById(field.id + "-counter");
    if (!limit || !counter) return null;
    function update() {
      const length = field.value.length;
      const over = length - limit;
      counter.textContent = over > 0
        ? number(length) + " / " + number(limit) + " characters: " + number(over) + " over the limit, shorten it to send"
        : number(length) + " / " + number(limit) + " characters";
      counter.classList.toggle("counter--over", over > 0);
      // mark the field while it is too long, without undoing the server's own marks
      if (over > 0) {
        field.dataset.tooLong = "1";
        field.setAttribute("aria-invalid", "true");
      } else if (field.dataset.tooLong) {
        delete field.dataset.tooLong;
        field.removeAttribute("aria-invalid");
      }
      return over <= 0;
    }
    field.addEventListener("input", update);
    update();
    return update;
  }

  window.RehearseCounters = { attach: counted };

  // the interview room counts its answer itself (explanation and code together)
  document.querySelectorAll("form:not(#answer-form)").forEach((form) => {
    const checks = Array.from(form.querySelectorAll("[data-maxlength]"))
      .map((field) => [field, counted(field)])
      .filter((pair) => pair[1]);
    if (!checks.length) return;
    form.addEventListener("submit", (event) => {
      const bad = checks.find((pair) => !pair[1]());
      if (bad) {
        event.preventDefault();
        bad[0].focus();
      }
    });
  });
})();

/* Sortable tables (the sessions list) and deleting a session after a confirmation. */
(function () {
  "use strict";

  // -- sorting: a header button sorts the rows of this page by the cells' data-value ----
  document.querySelectorAll("table.sortable").forEach((table) => {
    const headers = Array.from(table.tHead.rows[0].cells);
    const status = document.getElementById("sort-status");
    headers.forEach((header, column) => {
      const button = header.querySelector("button.sort");
      if (!button) return;
      button.addEventListener("click", () => {
        const ascending = header.getAttribute("aria-sort") !== "ascending";
        headers.forEach((other) => other.removeAttribute("aria-sort"));
        header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        const numeric = header.dataset.sort === "number";
        const body = table.tBodies[0];
        const value = (row) => {
          const raw = row.cells[column].dataset.value || "";
          return numeric ? Number(raw) : raw;
        };
        const rows = Array.from(body.rows).sort((a, b) => {
          const x = value(a);
          const y = value(b);
          const order = numeric ? x - y : String(x).localeCompare(String(y));
          return ascending ? order : -order;
        });
        rows.forEach((row) => body.appendChild(row));
        if (status) {
          status.textContent = "Sorted by " + button.textContent + ", " + (ascending ? "ascending" : "descending");
        }
      });
    });
  });

  // -- deleting: DELETE /api/v1/sessions/{id} after the person confirms ---------------------
  const error = document.getElementById("page-error");
  document.querySelectorAll("[data-delete-session]").forEach((button) => {
    button.addEventListener("click", async () => {
      const id = button.dataset.deleteSession;
      const who = button.dataset.candidate || "this candidate";
      if (!window.confirm("Delete the session of " + who + " for good? Its answers, report and whiteboards are removed; this cannot be undone.")) {
        return;
      }
      button.disabled = true;
      try {
        await window.rehearse.api("DELETE", "/api/v1/sessions/" + encodeURIComponent(id));
        if (button.dataset.after) {
          window.location.assign(button.dataset.after);
        } else {
          const row = document.getElementById(button.dataset.remove);
          if (row) row.remove();
          const status = document.getElementById("sort-status");
          if (status) status.textContent = "Session of " + who + " deleted.";
        }
      } catch (failure) {
        button.disabled = false;
        if (error) {
          error.textContent = failure.message;
          error.hidden = false;
        }
      }
    });
  });
})();
