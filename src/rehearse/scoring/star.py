"""STAR structure of behavioural answers: Situation, Task, Action, Result.

The STAR method (Situation, Task, Action, Result) is the structure interviewers expect for
"tell me about a time when..." questions. Each part is detected by cue phrases a speaker
uses to open it; detection is lexical, deterministic and errs towards finding a part that
is there in different words rather than crediting one that is absent.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from rehearse.scoring.text import word_set

# Past-tense verbs after "I"/"we" that describe doing something, not being somewhere;
# regular "-ed" verbs are matched by pattern, minus the ones that set a scene or a task.
_IRREGULAR_ACTIONS = (
    "built|wrote|led|made|took|set|ran|met|spoke|drove|began|chose|brought|sought|taught|"
    "found|gave|put|sent|told|went|did|got|kept|held|rewrote|split|cut|broke|sat|laid"
)
_NOT_ACTIONS = word_set(
    "needed wanted used called supposed expected required tasked asked assigned "
    "responsible interested excited worried concerned named based located"
)

_SITUATION = re.compile(
    r"\b(?:at my (?:previous |last |current |first )?(?:job|company|role|team|internship|employer)"
    r"|in my (?:previous |last |current |first )?(?:job|role|team|position|internship)"
    r"|when i was|while i was|while working|when working|i was working|i worked (?:at|as|on)"
    r"|we were|our team|my team|the team was|the project|a project|there was|there were"
    r"|last (?:year|month|quarter|summer)|(?:in|back in) (?:19|20)\d\d|a few (?:years|months) ago"
    r"|the situation|the context|for context|background|a customer|a client|one time"
    r"|i was (?:a|an|the|halfway|part|working|building|leading|running|new|one of|on|at|in)\b"
    r"|our (?:company|team|product|service|app|system|customers?|startup|group)"
    r"|we had|(?:had|was|were) given|one (?:day|morning|week|quarter|sprint)|recently"
    r"|(?:two|three|a few|several) (?:weeks|months|years) (?:ago|before|into))"
)
# A labelled answer names its parts: "Situation: ...", "Result - ...".
_LABEL = r"(?:^|[\n.;]\s*|\b)(?:{words})\s*(?::|-|\u2013|\u2014)"
_LABELS = {
    "situation": re.compile(_LABEL.format(words="situation|context|background|setting")),
    "task": re.compile(_LABEL.format(words="task|goal|objective|challenge|my role")),
    "action": re.compile(_LABEL.format(words="actions?|approach|what i did|steps")),
    "result": re.compile(_LABEL.format(words="results?|outcome|impact|reflection")),
}
# A story narrated in the past tense sets its scene in the first sentence.
_PAST_TENSE = re.compile(rf"\b(?:was|were|had|\w{{3,}}ed|{_IRREGULAR_ACTIONS})\b")
_TASK = re.compile(
    r"\b(?:my (?:task|role|job|goal|responsibility|assignment|mission) (?:was|is)"
    r"|i was (?:responsible|asked|tasked|assigned|in charge|supposed|expected)"
    r"|i (?:needed|had|wanted) to|we (?:needed|had) to|responsible for|in charge of"
    r"|(?:the|our|my) (?:goal|objective|aim|challenge|deadline|problem) (?:was|is)"
    r"|the task|the goal|to make sure|to ensure|so i had to"
    r"|(?:needed|wanted|asked|agreed|expected|required|tasked|assigned|decided|volunteered|"
    r"offered|chose) (?:\w+ ){0,2}to\b|it was (?:my|up to me)|i owned|i had to"
    r"|\d+ (?:days|weeks|months) to\b|deadline|\bwas to\b|(?:^|[.!?] )to [a-z]+\b"
    r"|(?:the|our|my) (?:ask|requirement|mandate))"
)
_ACTION = re.compile(
    rf"\b(?:i|we|so i|then i|first,? i)\s+(?:first\s+|then\s+|quickly\s+|personally\s+)?"
    rf"(?:(?P<verb>[a-z]+ed)|{_IRREGULAR_ACTIONS})\b"
    r"|\b(?:i decided to|i started (?:by|to)|my approach|the steps i|i took (?:the|a)"
    r"|i reached out)"
)
_RESULT = re.compile(
    r"\b(?:as a result|the result|the outcome|in the end|ultimately|eventually|resulted in"
    r"|which (?:meant|led|cut|saved|reduced|increased|improved)|this (?:meant|led|saved|cut)"
    r"|we (?:reduced|increased|improved|saved|cut|shipped|delivered|launched|hit|met|achieved)"
    r"|(?:reduced|increased|improved|decreased|saved|cut|grew|dropped) (?:\w+ ){0,4}(?:by|from|to)"
    r"|\d+(?:\.\d+)?\s?(?:%|percent|x\b)|i learned|i learnt|the lesson|lessons learned"
    r"|feedback was|was praised|got promoted|on time|successfully)"
)

STAR_PART_POINTS = 25
"""Points (of 100) each detected STAR part adds."""


class StarAnalysis(BaseModel):
    """Which STAR parts a behavioural answer contains.

    Attributes:
        situation: the answer sets the scene (where, when, who).
        task: it says what the speaker had to achieve.
        action: it says what the speaker did (first person, past tense).
        result: it says what came of it (an outcome, a number, a lesson).
        score: 0-100, :data:`STAR_PART_POINTS` per part present.
    """

    model_config = ConfigDict(frozen=True)

    situation: bool
    task: bool
    action: bool
    result: bool
    score: int = Field(ge=0, le=100)

    @property
    def missing(self) -> list[str]:
        """Names of the absent parts in STAR order: ``["Task", "Result"]``."""
        present = {
            "Situation": self.situation,
            "Task": self.task,
            "Action": self.action,
            "Result": self.result,
        }
        return [name for name, found in present.items() if not found]


def analyse_star(answer: str) -> StarAnalysis:
    """Detect the STAR parts of ``answer``, labelled ("Situation: ...") or narrated.

    A part is found by its label, or by the cue phrases a speaker uses to open it; a
    story of three or more sentences whose first sentence is in the past tense has set
    its scene. Returns all parts absent and score 0 for an empty answer.
    """
    lowered = answer.lower().replace("\u2019", "'")
    text = " ".join(lowered.split())
    labelled = {part: pattern.search(lowered) is not None for part, pattern in _LABELS.items()}
    parts_of_story = [part for part in re.split(r"(?<=[.!?])\s+|\n+", text) if part.strip()]
    narrated = len(parts_of_story) >= 3 and _PAST_TENSE.search(parts_of_story[0]) is not None
    situation = labelled["situation"] or narrated or _SITUATION.search(text) is not None
    task = labelled["task"] or _TASK.search(text) is not None
    action = labelled["action"] or any(
        match.group("verb") is None or match.group("verb") not in _NOT_ACTIONS
        for match in _ACTION.finditer(text)
    )
    result = labelled["result"] or _RESULT.search(text) is not None
    parts = (situation, task, action, result)
    return StarAnalysis(
        situation=situation,
        task=task,
        action=action,
        result=result,
        score=STAR_PART_POINTS * sum(parts),
    )
