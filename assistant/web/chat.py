"""The buyers' chat: question, streamed answer, sources panel, feedback and the case-file note."""

from __future__ import annotations

import gradio as gr

from assistant.i18n import EXAMPLES, LANGUAGE_CHOICES, TEXT
from assistant.services import Services
from assistant.web.assets import NOTE_JS
from assistant.web.render import (
    ai_notice,
    answer_from_dict,
    badge,
    footer,
    render_answer,
    render_question,
    render_sources,
)


def build_chat(services: Services) -> gr.Blocks:
    t = TEXT["da"]
    with gr.Blocks(title=t["title"], analytics_enabled=False) as chat:
        history = gr.State([])  # [{"role", "content"}] of plain questions and answers
        answer_ids = gr.State([])  # feedback row id per assistant message
        last_answer = gr.State(None)  # the latest Answer as a dict: sources panel, note, relabel
        redraw = gr.State([])  # the messages while the chat is redrawn in another language
        with gr.Row(elem_id="header-row"):
            heading = gr.Markdown(f"# {t['title']}\n{t['intro']}", elem_id="title")
            lang = gr.Radio(LANGUAGE_CHOICES, value="da", label=t["language"], scale=0, min_width=200,
                            elem_id="ui-language")
        mode = gr.HTML(badge(services, "da"), elem_id="mode")
        notice = gr.HTML(ai_notice(services, "da"), elem_id="ai-notice")
        with gr.Row(equal_height=False, elem_id="main-row"):
            with gr.Column(scale=3, min_width=280, elem_id="chat-column"):
                chatbot = gr.Chatbot(label=t["chat"], height=520, elem_id="chat", buttons=["copy"],
                                     # No LaTeX: answer text is rendered by web/markdown.py alone.
                                     latex_delimiters=[])
                question = gr.Textbox(label=t["question"], placeholder=t["placeholder"], lines=1,
                                      max_lines=4, elem_id="question", autofocus=True)
                with gr.Row():
                    send = gr.Button(t["send"], variant="primary", elem_id="send")
                    new = gr.Button(t["new"], elem_id="new-conversation")
                    note = gr.Button(t["note"], elem_id="save-note")
                gr.HTML("<div id='note-area'></div>", elem_id="note-holder")
                note_payload = gr.Textbox(visible=False)
                examples = gr.Dataset(components=[gr.Textbox(visible=False)], samples=[[e] for e in EXAMPLES["da"]],
                                      label=t["examples"], elem_id="examples")
                with gr.Row():
                    comment = gr.Textbox(label=t["comment"], lines=1, scale=4, elem_id="comment")
                    comment_send = gr.Button(t["comment_send"], scale=1, elem_id="comment-send")
                status = gr.Markdown("", elem_id="status")
            with gr.Column(scale=2, min_width=280, elem_classes=["sources-column"]):
                sources_title = gr.Markdown(f"## {t['sources']}")
                sources = gr.HTML(render_sources(None, "da"), elem_id="sources")
        foot = gr.HTML(footer(services, "da"), elem_id="footer")

        examples.click(lambda sample: sample[0], inputs=examples, outputs=question, api_visibility="private")

        def respond(message, shown, past, ids, language):
            message = (message or "").strip()
            if not message:
                yield shown, past, ids, gr.skip(), "", gr.skip(), gr.skip()
                return
            shown = list(shown or []) + [{"role": "user", "content": render_question(message)},
                                         {"role": "assistant", "content": "…"}]
            final = None
            for partial in services.assistant.stream(message, past):
                final = partial
                shown[-1] = {"role": "assistant", "content": render_answer(partial, language)}
                yield shown, past, ids, gr.skip(), "", gr.skip(), TEXT[language]["answering"]
            answer_id = services.feedback.record_answer(final)
            past = list(past or []) + [{"role": "user", "content": message},
                                       {"role": "assistant", "content": final.answer}]
            ids = list(ids or []) + [answer_id]
            yield (shown, past, ids, render_sources(final, language), "", final.to_dict(),
                   TEXT[language]["answered"])

        events = dict(fn=respond, inputs=[question, chatbot, history, answer_ids, lang],
                      outputs=[chatbot, history, answer_ids, sources, question, last_answer, status],
                      api_visibility="private")
        send.click(**events)
        question.submit(**events)

        def reset(language):
            # Everything the cleared conversation left behind goes: a follow-up is not answered
            # as part of it, and feedback cannot land on an answer no longer on screen.
            return [], [], [], render_sources(None, language), "", None, TEXT[language]["cleared"]

        cleared = [chatbot, history, answer_ids, sources, comment, last_answer, status]
        new.click(reset, inputs=lang, outputs=cleared, api_visibility="private")
        chatbot.clear(reset, inputs=lang, outputs=cleared, api_visibility="private")

        def on_like(data: gr.LikeData, ids, language):
            position = _assistant_position(data.index)
            if position is not None and position < len(ids or []):
                services.feedback.vote(ids[position], 1 if data.liked else -1)
            return TEXT[language]["thanks"]

        chatbot.like(on_like, inputs=[answer_ids, lang], outputs=status, api_visibility="private")

        def on_comment(text, ids, language):
            if text and text.strip() and ids:
                services.feedback.comment(ids[-1], text)
                return "", TEXT[language]["thanks"]
            return text, ""

        comment_send.click(on_comment, inputs=[comment, answer_ids, lang], outputs=[comment, status],
                           api_visibility="private")

        def make_note(latest, language):
            import json

            s = TEXT[language]
            if not latest:
                return json.dumps({"message": s["note_none"]})
            return json.dumps({**note_files(services, latest, language), "message": s["note_ready"],
                               "labels": {"docx": s["note_docx"], "md": s["note_md"]}})

        note.click(make_note, inputs=[last_answer, lang], outputs=note_payload, api_visibility="private").then(
            None, inputs=note_payload, js=NOTE_JS)

        def relabel(language, latest, messages):
            s = TEXT[language]
            shown = answer_from_dict(latest) if latest else None
            # The messages are emptied here and put back by the next step, so Gradio draws their
            # buttons ("Copy message") anew in the new language; the sources panel keeps the
            # latest answer's cards.
            return (
                f"# {s['title']}\n{s['intro']}", badge(services, language), ai_notice(services, language),
                gr.update(label=s["chat"], value=[]), list(messages or []),
                gr.update(label=s["question"], placeholder=s["placeholder"]),
                gr.update(value=s["send"]), gr.update(value=s["new"]), gr.update(value=s["note"]),
                gr.update(label=s["comment"]), gr.update(value=s["comment_send"]),
                f"## {s['sources']}", render_sources(shown, language), gr.update(label=s["examples"], samples=[[e] for e in EXAMPLES[language]]),
                footer(services, language),
            )

        lang.change(relabel, inputs=[lang, last_answer, chatbot],
                    outputs=[heading, mode, notice, chatbot, redraw, question, send, new, note, comment,
                             comment_send, sources_title, sources, examples, foot],
                    api_visibility="private", js="(language, latest, messages) => { window.assistantSetLang && "
                    "window.assistantSetLang(language); return [language, latest, messages]; }").then(
                        lambda messages: messages, inputs=redraw, outputs=chatbot, api_visibility="private")

        def chat_api(message: str, history: list[dict] | None = None) -> dict:
            """Answer a question with its sources. `history`: earlier turns as
            [{"role": "user"|"assistant", "content": str}] for follow-up questions."""
            refuse_oversized_api_input("chat", [message, history])
            answer = services.assistant.ask(message, history or [])
            services.feedback.record_answer(answer)
            return answer.to_dict()

        gr.api(chat_api, api_name="chat")

        def note_api(answer: dict, language: str = "da") -> dict:
            """A note for the case file from an answer returned by /chat: {"filename",
            "markdown", "docx_base64"}. Document hashes and dates come from the inventory;
            personal data is masked."""
            refuse_oversized_api_input("note", [answer, language])
            return note_files(services, answer, language if language in TEXT else "da")

        gr.api(note_api, api_name="note")
    return chat



def note_files(services: Services, answer: dict, language: str) -> dict:
    import base64

    from assistant.records.casenote import build_note, to_docx, to_markdown

    def lookup(source: str):
        try:
            return services.store.document(source)
        except Exception:  # noqa: BLE001 - a note without a hash beats no note while the store is down
            return None

    case = build_note(answer, lookup, ui_language=language)
    return {"filename": case.filename_stem, "markdown": to_markdown(case),
            "docx_base64": base64.b64encode(to_docx(case)).decode("ascii")}


def _assistant_position(index) -> int | None:
    """Which answer a like refers to: the chatbot alternates user/assistant messages."""
    if isinstance(index, (list, tuple)):
        index = index[0]
    if not isinstance(index, int):
        return None
    return index // 2


# The public API's inputs (/chat, /note) are bounded before they are queued
# (`security.bound_queue` asks `api_input_problem`) and again when run: a waiting job holds
# its input in memory, and a body of many tiny values costs far more memory than its bytes.
API_MAX_CHARS = 20_000  # any one text: a question, a history message, an answer, a quote
API_MAX_HISTORY = 100  # history messages (a follow-up uses the last MAX_HISTORY_MESSAGES)
API_MAX_CITATIONS = 50  # citations in the answer a note is made from
API_MAX_ITEMS = 100  # entries of any list or object
API_MAX_VALUES = 5_000  # values in one input, all levels together
API_MAX_DEPTH = 6


def api_input_problem(api: str, data) -> str | None:
    """Why the input of API `api` ("chat", "note") is refused, or None. Only size is judged
    here: a malformed but small input gets the endpoint's own plain answer."""
    if api not in ("chat", "note") or not isinstance(data, list):
        return None
    from assistant.answer.history import MAX_HISTORY_MESSAGES

    prefix = "Input too large / For stort input: "
    first, second = (list(data) + [None, None])[:2]
    if api == "chat" and isinstance(second, list) and len(second) > API_MAX_HISTORY:
        return (f"{prefix}history has {len(second)} messages; at most {API_MAX_HISTORY} "
                f"(only the last {MAX_HISTORY_MESSAGES} are used).")
    citations = first.get("citations") if api == "note" and isinstance(first, dict) else None
    if isinstance(citations, list) and len(citations) > API_MAX_CITATIONS:
        return f"{prefix}the answer has {len(citations)} citations; at most {API_MAX_CITATIONS}."
    budget = API_MAX_VALUES
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        budget -= 1
        if budget < 0:
            return f"{prefix}more than {API_MAX_VALUES} values."
        if isinstance(value, str):
            if len(value) > API_MAX_CHARS:
                return f"{prefix}a text of {len(value)} characters; at most {API_MAX_CHARS}."
        elif isinstance(value, (list, dict)):
            if depth >= API_MAX_DEPTH:
                return f"{prefix}nested more than {API_MAX_DEPTH} levels."
            if len(value) > API_MAX_ITEMS:
                return f"{prefix}a list or object with {len(value)} entries; at most {API_MAX_ITEMS}."
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
    return None


def refuse_oversized_api_input(api: str, data: list) -> None:
    problem = api_input_problem(api, data)
    if problem:
        raise gr.Error(problem)
