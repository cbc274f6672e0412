//! The lesson panel, on the left: a button per lesson shipped with the app, then the chosen
//! lesson's title, narrative (in the learner's language) and numbered steps — each in words
//! (`Step::reads`: "On r6381, check that `slave_read_only` is 1") — marked ✓ (its
//! expectations held), ✗ (with what was seen instead), ▶ (next) or · (to come), with a button
//! that rewinds the world to just before it; and the button that does the next step.

use super::Act;
use crate::lab::{self, Lab, Lang};
use yew::prelude::*;

pub fn view(lab: &Lab, act: &Act) -> Html {
    let t = |zh, en| lab.lang.t(zh, en);
    let lessons = lab::LESSONS.iter().enumerate().map(|(i, (file, _))| {
        let choose = act.on_click(move |lab| lab.load_lesson(i));
        html! { <button class={classes!("lesson-choice", (lab.lesson_index == Some(i)).then_some("active"))} data-testid={format!("lesson-{}", i)} onclick={choose}>{ lab::lesson_title(file) }</button> }
    });
    let body = match lab.lesson() {
        None => {
            html! { <p class="hint">{ t("选择一个课程，或在右侧终端直接输入命令。", "Pick a lesson, or type commands in the terminal on the right.") }</p> }
        }
        Some(lesson) => {
            let steps = lesson.steps.iter().enumerate().map(|(i, s)| {
                let result = lab.results.get(i);
                let mark = match result {
                    Some(r) if r.ok => "✓",
                    Some(_) => "✗",
                    None if i == lab.results.len() => "▶",
                    None => "·",
                };
                let seen = match result {
                    Some(r) if !r.ok => html! { <div class="seen">{ format!("{} {}", t("看到：", "saw:"), r.seen) }</div> },
                    _ => html! {},
                };
                let reset = act.on_click(move |lab| lab.reset_to_step(i + 1));
                // The step as the learner reads it; the file's own syntax is the tooltip.
                let reads = s.reads(lesson, lab.lang);
                html! {
                    <li data-testid={format!("lesson-step-{}", i + 1)} class={classes!(result.map(|r| if r.ok { "ok" } else { "fail" }))} title={s.text.clone()}>
                        <span class="mark">{ mark }</span>{ for with_code(&reads) }
                        <button class="reset" title={t("回到这一步", "reset to this step")} data-testid={format!("lesson-reset-{}", i + 1)} onclick={reset}>{ "↺" }</button>
                        { seen }
                    </li>
                }
            });
            let narrative = if lab.lang == Lang::Zh { &lesson.narrative_zh } else { &lesson.narrative_en };
            html! {
                <>
                    <h2>{ &lesson.title }</h2>
                    <div class="narrative" data-testid="lesson-narrative">{ for paragraphs(narrative, lab.lang) }</div>
                    <ol class="steps">{ for steps }</ol>
                    <button data-testid="lesson-next" onclick={act.on_click(|lab| lab.run_next_step())} disabled={lab.results.len() >= lesson.steps.len()}>{ t("执行下一步", "Do the next step") }</button>
                </>
            }
        }
    };
    html! { <aside class="lesson" data-testid="lesson-panel"><div class="choices">{ for lessons }</div>{ body }</aside> }
}

/// A lesson's narrative as paragraphs: blank lines separate them, line breaks inside one are
/// joined (with a space in English, directly in Chinese).
fn paragraphs(text: &str, lang: Lang) -> Vec<Html> {
    let joiner = if lang == Lang::Zh { "" } else { " " };
    text.split("\n\n")
        .map(|p| p.lines().map(str::trim).collect::<Vec<_>>().join(joiner))
        .filter(|p| !p.is_empty())
        .map(|p| html! { <p>{ p }</p> })
        .collect()
}

/// A sentence whose `backquoted` parts (commands, fields, log texts) are drawn as code.
fn with_code(text: &str) -> Vec<Html> {
    text.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                html! { <code>{ part }</code> }
            } else {
                html! { { part } }
            }
        })
        .collect()
}
