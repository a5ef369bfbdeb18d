"""CSS and browser script for the chat and staff pages (WCAG 2.1 AA).

What each piece is for:
- Colours: every text/background pair here is at least 4.5:1 (Gradio's default orange
  primary button is 2.8:1 with white text, its footer grey 1.9:1).
- Reflow (1.4.10): at 320 px nothing needs horizontal scrolling; long words wrap, columns
  stack, wide tables scroll inside their own box.
- Focus (2.4.7): a 3 px outline on whatever has keyboard focus.
- The script sets `<html lang>` to the UI language and switches Gradio's own labels to it
  (Gradio's i18n picks its locale from the browser and has no Danish; our Danish strings are
  added with `gr.I18n`, then the locale is set with Gradio's own `changeLocale`, first by the
  page's head (`HEAD`, so Gradio's start-up loader says "Indlæser..."), then on every switch), marks the
  sources and status areas as live regions, and makes each [n] link move focus to its card.
  It never runs anything from a document or an answer.
"""

from __future__ import annotations

import json

from assistant.i18n import GRADIO_FIXED_DA

CSS = """
:root, .gradio-container {--button-primary-background-fill:#0b5cad;--button-primary-background-fill-hover:#084a8c;
  --button-primary-text-color:#fff;--button-primary-border-color:#0b5cad;
  --button-cancel-background-fill:#b42318;--button-cancel-background-fill-hover:#912018;
  --button-cancel-text-color:#fff;--body-text-color-subdued:#4b5563;--color-accent:#0b5cad;
  --color-accent-soft:#e6f0fa;--block-label-text-color:#1f2328;--block-title-text-color:#1f2328;
  --input-placeholder-color:#5b6470;--link-text-color:#0a58ca;}
.gradio-container {overflow-wrap:break-word;}
.gradio-container button.primary, .gradio-container button.lg.primary {background:#0b5cad !important;color:#fff !important;border-color:#0b5cad !important;}
.gradio-container button.stop {background:#b42318 !important;color:#fff !important;border-color:#b42318 !important;}
.gradio-container button[role=tab][aria-selected=true], .gradio-container .tab-container button.selected {color:#0b4a8b !important;border-color:#0b4a8b !important;}
footer, footer a, footer button, .footer a {color:#374151 !important;}
*:focus-visible, .gradio-container textarea:focus, .gradio-container input:focus {outline:3px solid #0b4a8b !important;outline-offset:2px !important;box-shadow:0 0 0 5px #fff !important;}
#title, #title > div, #title .prose {overflow:visible !important;height:auto !important;max-height:none !important;}
#title h1 {font-size:clamp(1.3rem, 4.5vw, 2rem);line-height:1.25;hyphens:manual;word-break:normal;overflow-wrap:normal;}
.badge {display:inline-block;padding:.25rem .6rem;border-radius:1rem;font-size:.9rem;
        background:#fff4d6;color:#4a3600;border:1px solid #b58a1e;}
.badge.llm {background:#e3f4e8;color:#174a26;border-color:#4f9a64;}
.ai-notice {border:1px solid #0b5cad;background:#f0f6fc;color:#1f2328;border-radius:.5rem;padding:.5rem .8rem;margin:.2rem 0;}
.ai-notice strong {display:block;}
.source-card {border:1px solid #8c959f;border-radius:.5rem;padding:.6rem .8rem;margin:.5rem 0;scroll-margin-top:1rem;}
.source-card:focus {outline:3px solid #0b4a8b;outline-offset:2px;}
.source-card h3 {font-size:1rem;margin:0 0 .2rem 0;}
.source-card .where {color:#4b5563;font-size:.85rem;margin:0 0 .4rem 0;}
.source-card .as-of {font-size:.85rem;margin:0 0 .3rem 0;color:#1f2328;font-weight:600;}
.source-card .notice {font-size:.85rem;margin:0 0 .3rem 0;color:#1f2328;background:#fff8c5;border-left:4px solid #9a6700;padding:.2rem .4rem;}
.source-card .based-on, .source-card .topics {font-size:.85rem;margin:0 0 .3rem 0;color:#1f2328;}
.source-card blockquote {margin:.3rem 0;padding-left:.6rem;border-left:3px solid #6b7280;}
.source-card a {color:#0a58ca;}
.sources-nearest {border:2px dashed #8a5a00;border-radius:.5rem;padding:.4rem .8rem;}
.sources-nearest h2 {color:#6b4400;font-size:1rem;}
.cite-link {font-weight:600;}
#note-area a {display:inline-block;margin:.2rem .8rem .2rem 0;color:#0a58ca;}
.app-footer {font-size:.9rem;color:#1f2328;margin-top:.5rem;}
.app-footer a {color:#0a58ca;}
.gradio-container .table-wrap, .gradio-container .table-container {overflow-x:auto !important;max-width:100%;}
/* Inside @media Gradio prefixes every selector with its own container, so no
   .gradio-container here. */
@media (max-width: 760px) {
  .sources-column {min-width:100% !important;}
  .row {flex-wrap:wrap !important;}
  .row > * {min-width:min(100%, 260px) !important;}
  #header-row > * {min-width:100% !important;flex-basis:100% !important;}
  #header-row .form, #ui-language {width:100% !important;flex-grow:1 !important;}
  /* On a phone the answer is not in a box that scrolls on its own: the chat grows with it,
     and the cited sources come directly after it (before the examples and the comment box).
     The chat column's children join the outer column (display:contents) so they can be
     ordered: answer, sources, then the question and the rest. */
  #chat, #chat .bubble-wrap, #chat > div {height:auto !important;max-height:none !important;}
  #chat {min-height:200px;}
  #main-row {flex-direction:column !important;flex-wrap:nowrap !important;}
  #chat-column {display:contents !important;}
  #chat-column > * {order:3;}
  #chat-column > #chat {order:1;}
  #main-row > .sources-column {order:2;}
}
@media (max-width: 420px) {
  .row > * {min-width:100% !important;flex-basis:100% !important;}
  #chat .message-row, #chat .message {max-width:100% !important;}
}
"""

JS = r"""
(initial) => {
  const FIXED_DA = __FIXED_DA__;
  const FIXED_EN = Object.fromEntries(Object.entries(FIXED_DA).map(([en, da]) => [da, en]));
  const uiLang = () => document.documentElement.dataset.uiLang || "da";
  async function setLang(lang) {
    document.documentElement.dataset.uiLang = lang;
    document.documentElement.lang = lang;
    if (window.assistantLocale) await window.assistantLocale(lang);  // HEAD
    document.documentElement.lang = lang;
  }
  window.assistantSetLang = setLang;
  const live = () => {
    for (const [id, role] of [["sources", "region"], ["status", "status"], ["note-area", "status"], ["answer-status", "status"]]) {
      const el = document.getElementById(id);
      if (el && !el.hasAttribute("aria-live")) {
        el.setAttribute("aria-live", "polite");
        if (role === "status") el.setAttribute("role", "status");
      }
    }
  };
  // Gradio markup axe flags (WCAG 2.5.3, 4.1.2): an upload zone whose aria-label differs
  // from its visible text, an empty file box with aria-label on a plain div.
  const repair = () => {
    document.querySelectorAll("button.boundedheight[aria-label], .boundedheight button[aria-label]").forEach((el) => {
      if (el.textContent.trim()) el.removeAttribute("aria-label");
    });
    document.querySelectorAll(".empty[aria-label]:not([role])").forEach((el) => el.setAttribute("role", "img"));
    // Gradio's English-only names (GRADIO_FIXED_DA), in the page's language.
    const fixed = uiLang() === "da" ? FIXED_DA : FIXED_EN;
    document.querySelectorAll("[aria-label], [title]").forEach((el) => {
      for (const attr of ["aria-label", "title"]) {
        const name = fixed[el.getAttribute(attr)];
        if (name) el.setAttribute(attr, name);
      }
    });
    // A file box that holds files shows Gradio's "upload more" button inside another button
    // (axe: nested-interactive). The outer one becomes a plain group out of the tab order;
    // the inner one, which opens the file dialog, takes the outer one's (translated) name.
    document.querySelectorAll("button.icon-button").forEach((outer) => {
      const inner = outer.querySelector("button");
      if (!inner) return;
      outer.setAttribute("role", "group");
      outer.setAttribute("tabindex", "-1");
      outer.removeAttribute("aria-haspopup");
      if (outer.title) inner.setAttribute("aria-label", outer.title);
    });
  };
  live();
  repair();
  new MutationObserver(() => {
    live();
    repair();
    if (document.documentElement.lang !== uiLang()) document.documentElement.lang = uiLang();
  }).observe(document.body, {childList: true, subtree: true, attributes: true, attributeFilter: ["lang"]});
  new MutationObserver(() => {
    if (document.documentElement.lang !== uiLang()) document.documentElement.lang = uiLang();
  }).observe(document.documentElement, {attributes: true, attributeFilter: ["lang"]});
  // [n] in an answer: move to its source card (in-page, keyboard focus included).
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("a[href*='#source-']");
    if (!link) return;
    const id = link.getAttribute("href").split("#").pop();
    const card = document.getElementById(id);
    if (!card) return;
    event.preventDefault();
    event.stopPropagation();
    card.scrollIntoView({block: "start"});
    card.focus();
  }, true);
  // On a phone, a new answer is brought into view (the keyboard closed): it starts at the top
  // of the screen and its sources follow it (CSS above). Desktop keeps its scroll position.
  let answers = 0;
  new MutationObserver(() => {
    const bots = document.querySelectorAll("#chat .message-row.bot-row");
    if (bots.length > answers && window.matchMedia("(max-width: 760px)").matches) {
      if (document.activeElement && document.activeElement.closest("#question")) document.activeElement.blur();
      bots[bots.length - 1].scrollIntoView({block: "start"});
    }
    answers = bots.length;
  }).observe(document.body, {childList: true, subtree: true});
  setLang(initial || "da");
  setTimeout(() => setLang(uiLang()), 800);
}
"""

JS = JS.replace("__FIXED_DA__", json.dumps(GRADIO_FIXED_DA))

# A note arrives as JSON from the server; the browser turns it into two download links.
# (The public chat has no file routes, so files are made here, from data the page has.)
NOTE_JS = r"""
(payload) => {
  const area = document.getElementById("note-area");
  if (!area || !payload) return;
  let note; try { note = typeof payload === "string" ? JSON.parse(payload) : payload; } catch (e) { return; }
  area.textContent = "";
  if (!note.docx_base64) { area.textContent = note.message || ""; return; }
  const bytes = Uint8Array.from(atob(note.docx_base64), (c) => c.charCodeAt(0));
  const files = [
    [new Blob([bytes], {type: "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}), note.filename + ".docx", note.labels.docx],
    [new Blob([note.markdown], {type: "text/markdown;charset=utf-8"}), note.filename + ".md", note.labels.md],
  ];
  const message = document.createElement("p");
  message.textContent = note.message;
  area.appendChild(message);
  for (const [blob, name, label] of files) {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    a.textContent = label;
    a.className = "note-download";
    area.appendChild(a);
  }
  area.querySelector("a").focus();
}
"""


def login_message(danish: str, english: str, hint: str = "") -> str:
    """The HTML Gradio shows above its login form (it renders `auth_message` as HTML). The
    login page gets none of the app's css or config, so this carries what WCAG asks of the
    page itself: a title, a level-one heading, both languages, and buttons with 4.5:1 contrast."""
    import html

    from assistant.i18n import HTTP_TEXT

    e = html.escape
    extra = f"<p>{e(hint)}</p>" if hint else ""
    return (f"<title>{e(danish)} / {e(english)}</title>"
            f"<style>.gradio-container button.primary, button.primary{{background:#0b5cad !important;"
            f"color:#fff !important;border-color:#0b5cad !important;}}"
            f"*:focus-visible{{outline:3px solid #0b4a8b !important;outline-offset:2px;}}</style>"
            f"<h1 style='font-size:1.4rem;margin:0 0 .4rem'><span lang='da'>{e(danish)}</span> / {e(english)}</h1>"
            f"<p lang='da'>{e(HTTP_TEXT['da']['login'])}</p><p>{e(HTTP_TEXT['en']['login'])}</p>{extra}")


# The page's head, which Gradio adds as soon as its config and i18n are set up, while its
# start-up loader is still on screen (the `js` above runs only once the page is drawn).
# Gradio picks its first locale from the browser, among its built-in languages only (Danish
# is not one), so its loader says "Loading..." in English; switching the locale here makes
# the loader say "Indlæser..." (GRADIO_DA) for the rest of the start-up. Every page starts
# in Danish. `window.assistantLocale` is the one place that switches Gradio's locale.
HEAD = r"""<script>
(() => {
  window.assistantLocale = async (lang) => {
    try {
      // Gradio's i18n module, the one instance the page already loaded (same URL).
      const url = performance.getEntriesByType("resource").map((e) => e.name)
        .find((n) => /\/assets\/core-[\w-]+\.js$/.test(n));
      if (url) { const core = await import(url); if (core.changeLocale) core.changeLocale(lang); }
    } catch (e) { /* labels stay in Gradio's default language; the page still works */ }
  };
  const lang = document.documentElement.dataset.uiLang || "da";
  document.documentElement.lang = lang;
  window.assistantLocale(lang);
})();
</script>"""
