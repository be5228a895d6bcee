"""The three programs offered by the demo practice, written out in full.

Pure data: no Django imports, no database access. The demo seeding command turns each
``ProgramSpec`` into a ``Program`` and each ``WeekSpec`` into a ``ProgramWeek``. The words
follow the catalog's voice: plain, warm, honest about what a group can and cannot do.
"""

from __future__ import annotations

from typing import Literal, TypedDict

Kind = Literal["therapy", "skills", "care_circle"]
FocusCode = Literal["relationships", "emotions", "connection", "anxiety", "mood", "grief"]


class WeekSpec(TypedDict):
    """One week of a curriculum (becomes a ``ProgramWeek``)."""

    number: int
    module: str
    topic: str
    skill: str
    practice: str
    reflection_prompt: str


class ProgramSpec(TypedDict):
    """One program and its curriculum (becomes a ``Program`` and its ``ProgramWeek`` rows)."""

    slug: str
    kind: Kind
    title: str
    focus: FocusCode
    summary: str
    description: str
    audience: str
    weeks: int
    minutes_per_meeting: int
    default_capacity: int
    min_group_size: int
    for_couples: bool
    curriculum: list[WeekSpec]


DEMO_NOTE = "This is a demo: every person, group, message and score you see here is made up."


# --------------------------------------------------------------------------------------
# 1. Closer: a therapy group for relationships
# --------------------------------------------------------------------------------------

CLOSER_CURRICULUM: list[WeekSpec] = [
    {
        "number": 1,
        "module": "Understanding patterns",
        "topic": "Welcome: what closeness means to you, and what brought you here",
        "skill": (
            "Sharing at your own pace. You choose how much to say and when; listening is a "
            "real way to take part. Together we agree how we will look after each other here."
        ),
        "practice": (
            "Once a day, notice one moment when you felt close to someone, or wished you did. "
            "Jot down a few words: who was there, what happened, and what you felt in your "
            "body. No need to change anything yet. Just notice."
        ),
        "reflection_prompt": (
            "What do you hope might feel different in your relationships by the end of these "
            "ten weeks? What would be a small sign that things are moving?"
        ),
    },
    {
        "number": 2,
        "module": "Understanding patterns",
        "topic": "How we learned to be close: the patterns we carry from early relationships",
        "skill": (
            "Naming your usual move when you feel unsure of someone: reaching toward them, "
            "pulling away, or a mix of both. These patterns once helped us cope, and they can "
            "change."
        ),
        "practice": (
            "When you feel a tug of worry in a relationship this week (a late reply, a short "
            "answer, a change of plans), pause and ask: what do I usually do next? Do I reach, "
            "or do I retreat? Write down one example, with kindness toward yourself."
        ),
        "reflection_prompt": (
            "Think about how closeness and comfort were shown (or not shown) when you were "
            "growing up. What did you learn about asking for what you need?"
        ),
    },
    {
        "number": 3,
        "module": "Understanding patterns",
        "topic": "The cycles we get stuck in, and feeling alone even when we are not alone",
        "skill": (
            "Seeing the cycle instead of blaming the person: one person reaches harder, the "
            "other pulls back further. Naming the loop out loud ('we're in our loop again') "
            "can soften it."
        ),
        "practice": (
            "Map one cycle you know well on paper: what sets it off, what you do, what the "
            "other person does, and how each of you feels underneath. Bring it to the group "
            "if you would like to, or keep it for yourself."
        ),
        "reflection_prompt": (
            "When have you felt lonely while being with someone you care about? What do you "
            "think was missing in that moment?"
        ),
    },
    {
        "number": 4,
        "module": "Communication",
        "topic": "Saying what you feel and need, gently and clearly",
        "skill": (
            "A soft start: 'I feel ... about ... and I would like ...'. Speak about your own "
            "experience and one clear request, rather than a list of what the other person "
            "did wrong."
        ),
        "practice": (
            "Choose one small, low-stakes request this week (asking a friend to call instead "
            "of text, asking a partner for ten quiet minutes). Say it using a soft start. "
            "Notice what happens, in them and in you, whatever the answer."
        ),
        "reflection_prompt": (
            "What makes it hard for you to say what you need? What do you fear might happen "
            "if you do?"
        ),
    },
    {
        "number": 5,
        "module": "Communication",
        "topic": "Listening so the other person feels heard",
        "skill": (
            "Listen to understand, not to reply: reflect back what you heard, ask one curious "
            "question, and find the part that makes sense to you before sharing your view."
        ),
        "practice": (
            "In two conversations this week, try reflecting back before you respond: 'So what "
            "I'm hearing is ... Did I get that right?' Notice whether the conversation slows "
            "down or changes."
        ),
        "reflection_prompt": (
            "Think of someone who really listens to you. What do they do that helps you feel "
            "heard? Which of those things could you offer to someone else?"
        ),
    },
    {
        "number": 6,
        "module": "Repair",
        "topic": "When conflict heats up: noticing overwhelm and taking a kind pause",
        "skill": (
            "Recognising when you are flooded (racing heart, tight jaw, thoughts going fast) "
            "and taking a break of at least twenty minutes, with a promise to come back to "
            "the conversation."
        ),
        "practice": (
            "Write your own pause sentence, for example: 'I want to keep talking about this, "
            "and I need twenty minutes to calm down first. I'll come find you.' During a "
            "break, do something soothing rather than rehearsing the argument."
        ),
        "reflection_prompt": (
            "What happens in your body when an argument starts? What helps you come back to "
            "yourself?"
        ),
    },
    {
        "number": 7,
        "module": "Repair",
        "topic": "Repair after a rupture: offering and receiving an apology",
        "skill": (
            "A repair that lands: name what happened, own your part without excuses, show "
            "that you understand how it affected the other person, and say what you will try "
            "to do differently."
        ),
        "practice": (
            "Think of a small rupture, recent or old, where repair feels safe to try. Offer "
            "one repair attempt, in person or in writing. Or, if someone reaches out to you, "
            "practise letting their repair in, even partly."
        ),
        "reflection_prompt": (
            "Is it harder for you to apologise or to accept an apology? Where do you think "
            "that comes from?"
        ),
    },
    {
        "number": 8,
        "module": "Moving forward",
        "topic": "Boundaries that protect connection instead of ending it",
        "skill": (
            "A kind, clear boundary says what you will do, not what the other person must do: "
            "'I want to talk, and I'll step away if we start shouting.' Boundaries can come "
            "with warmth."
        ),
        "practice": (
            "Notice one place where you often say yes when you mean no, or no when you mean "
            "yes. Try one small, honest answer this week. Afterwards, write down what you "
            "feared and what actually happened."
        ),
        "reflection_prompt": (
            "What did you learn growing up about saying no to people you love? What would "
            "you like to believe about it now?"
        ),
    },
    {
        "number": 9,
        "module": "Moving forward",
        "topic": "Reaching for connection: small bids and turning toward each other",
        "skill": (
            "Noticing small bids for connection (a shared joke, a sigh, 'look at this') and "
            "turning toward them, and making small bids of your own."
        ),
        "practice": (
            "Each day, make one small bid (share something that made you smile, ask about "
            "someone's day) and notice one bid someone makes toward you. Keep a simple tally "
            "of bids offered, received and turned toward."
        ),
        "reflection_prompt": (
            "Which relationship in your life would you most like to feel closer in? What is "
            "one small bid you could make there?"
        ),
    },
    {
        "number": 10,
        "module": "Moving forward",
        "topic": "Carrying it forward and saying goodbye well",
        "skill": (
            "Ending with care: naming what you have learned, what you will keep practising, "
            "and what you appreciated in others, so that a goodbye can be a good experience "
            "of connection too."
        ),
        "practice": (
            "Write a short note to yourself to read in three months: the patterns you now "
            "recognise, two skills you want to keep using, and the people you can turn to. "
            "Your clinician can talk with you about next steps if you would like more support."
        ),
        "reflection_prompt": (
            "What are you taking with you from this group? What did someone here give you "
            "that you want to remember?"
        ),
    },
]

CLOSER: ProgramSpec = {
    "slug": "closer-relationships-therapy",
    "kind": "therapy",
    "title": "Closer: a therapy group for relationships",
    "focus": "relationships",
    "summary": (
        "A small therapy group, led by a licensed clinician, for anyone who wants to "
        "understand their relationship patterns and find steadier, warmer ways to connect."
    ),
    "description": (
        "Many of us keep ending up in the same painful places with the people we care "
        "about: the same arguments, the same silences, the same feeling of being alone "
        "even when someone is right there. Closer is a place to look at those patterns "
        "together, with curiosity rather than blame.\n\n"
        "Over ten weekly meetings, a licensed clinician guides a small group through how "
        "we learned to be close, how to say what we feel and need, how to listen, how to "
        "pause and repair after conflict, and how to set boundaries that protect "
        "connection. Each week has a short skill to try and a gentle practice for the days "
        "in between.\n\n"
        "You will not be asked to share more than feels right. Change in relationships "
        "usually comes slowly and unevenly, and the group is a place to practise new ways "
        "of relating with people who are practising too."
    ),
    "audience": (
        "Adults who feel stuck in repeating relationship patterns, struggle with conflict "
        "or boundaries, or feel lonely inside their relationships. You join on your own, "
        "not as a couple. You need to be in a state where the group's clinician is licensed; "
        "if you are not, we will show you other groups. This group is not right if you are "
        "in crisis right now (call or text 988) or not safe in a relationship; we will help "
        "you find more focused support first."
    ),
    "weeks": 10,
    "minutes_per_meeting": 90,
    "default_capacity": 8,
    "min_group_size": 4,
    "for_couples": False,
    "curriculum": CLOSER_CURRICULUM,
}


# --------------------------------------------------------------------------------------
# 2. DBT Skills Group
# --------------------------------------------------------------------------------------

DBT_CURRICULUM: list[WeekSpec] = [
    {
        "number": 1,
        "module": "Mindfulness",
        "topic": "Welcome, and finding your wise mind",
        "skill": (
            "Wise mind: the place where your feeling mind and your reasoning mind meet. "
            "Breathing in, ask 'wise mind?'; breathing out, listen for a quiet answer."
        ),
        "practice": (
            "Start a simple skills diary: one line a day with your strongest emotion "
            "(rated 0 to 5), any urges, and which skill you tried. This week, practise wise "
            "mind once a day for two minutes and mark it on the diary."
        ),
        "reflection_prompt": (
            "When did you act mostly from feeling mind or mostly from reasoning mind this "
            "week? What might wise mind have added?"
        ),
    },
    {
        "number": 2,
        "module": "Mindfulness",
        "topic": "Observe, describe, participate: the 'what' skills",
        "skill": (
            "Observe without words, describe just the facts ('I notice tightness in my "
            "chest', 'I'm having the thought that...'), and participate by throwing yourself "
            "fully into what you are doing."
        ),
        "practice": (
            "Each day, spend one minute observing something ordinary (a cup of tea, sounds "
            "outside, your feet on the floor), then describe it in a sentence on your diary "
            "card. Once this week, do one activity with full participation."
        ),
        "reflection_prompt": (
            "What was it like to describe a feeling or thought as just a feeling or thought? "
            "Did anything shift?"
        ),
    },
    {
        "number": 3,
        "module": "Mindfulness",
        "topic": "Non-judgmentally, one-mindfully, effectively: the 'how' skills",
        "skill": (
            "Drop the judgments and stick to the facts; do one thing at a time with full "
            "attention; and do what works toward your goals, rather than what feels 'right' "
            "or 'fair' in the moment."
        ),
        "practice": (
            "Count your judgments for one hour a day (a tally on your hand or phone is "
            "fine), then try rewording one of them as a plain description. Mark one "
            "one-mindful activity a day on your diary card."
        ),
        "reflection_prompt": (
            "Which judgment about yourself showed up most often this week? How would you "
            "describe the same thing without judging it?"
        ),
    },
    {
        "number": 4,
        "module": "Distress tolerance",
        "topic": "Getting through a crisis moment without making it worse: STOP",
        "skill": (
            "STOP: Stop and freeze for a moment. Take a step back and breathe. Observe what "
            "is happening inside and around you. Proceed mindfully, asking what will help."
        ),
        "practice": (
            "Write STOP on a card or your phone's lock screen. When you notice a strong "
            "urge this week, try STOP, even imperfectly. On your diary card, note the urge, "
            "its strength before and after (0 to 5), and what you did next."
        ),
        "reflection_prompt": (
            "Think of a moment when acting on an urge made things harder. Where in that "
            "moment could a STOP have fitted?"
        ),
    },
    {
        "number": 5,
        "module": "Distress tolerance",
        "topic": "Calming your body fast when emotions run very high: TIPP",
        "skill": (
            "TIPP: Temperature (cool water on your face), Intense exercise for a few "
            "minutes, Paced breathing (breathe out longer than in), and Paired muscle "
            "relaxation (tense, then release, as you breathe out)."
        ),
        "practice": (
            "Try each TIPP skill once this week when you are calm, so it is familiar when you "
            "need it. Rate your distress (0 to 5) before and after. If you have a heart "
            "condition, an eating disorder or other health concern, check with your doctor "
            "before using cold water or hard exercise."
        ),
        "reflection_prompt": (
            "Which TIPP skill felt most natural to you? When in a usual week might you most "
            "need it?"
        ),
    },
    {
        "number": 6,
        "module": "Distress tolerance",
        "topic": "Pros and cons, and self-soothing with the five senses",
        "skill": (
            "Pros and cons: weigh acting on an urge against resisting it, in the short and "
            "long term. Self-soothe: comfort yourself through sight, sound, smell, taste "
            "and touch."
        ),
        "practice": (
            "Write out pros and cons for one urge you often struggle with, and keep it "
            "somewhere you can find it. Build a small self-soothe kit (a soft fabric, a "
            "favourite scent, a playlist, a photo) and use it once on a hard day."
        ),
        "reflection_prompt": (
            "What did you notice when you looked at the long-term pros and cons, not only the "
            "short-term ones?"
        ),
    },
    {
        "number": 7,
        "module": "Distress tolerance",
        "topic": "Radical acceptance and turning the mind",
        "skill": (
            "Radical acceptance: fully acknowledging what is real right now, even when it is "
            "painful and even when you wish it were different. Acceptance is not approval. "
            "Turning the mind: choosing acceptance again and again."
        ),
        "practice": (
            "Pick one small thing you have been fighting (traffic, a rainy day, a rule you "
            "dislike). Each time you notice the fight, say to yourself 'this is how it is "
            "right now' and relax your hands and shoulders. Mark each turn of the mind on "
            "your diary card."
        ),
        "reflection_prompt": (
            "What is one thing you have been refusing to accept? What might become possible "
            "if you accepted it, without approving of it?"
        ),
    },
    {
        "number": 8,
        "module": "Mindfulness",
        "topic": "Coming back to wise mind between modules",
        "skill": (
            "A short return to the core mindfulness skills: wise mind, the 'what' skills and "
            "the 'how' skills, which every other skill in this course builds on."
        ),
        "practice": (
            "Choose the one mindfulness skill you use least and practise it for three "
            "minutes a day. Keep filling in your diary card, and look back over the last "
            "seven weeks of entries for anything you notice."
        ),
        "reflection_prompt": (
            "Looking back at your diary cards so far, what has changed, even a little? "
            "What has stayed hard?"
        ),
    },
    {
        "number": 9,
        "module": "Emotion regulation",
        "topic": "Naming emotions and understanding what they do for us",
        "skill": (
            "Putting a name to an emotion: what set it off, what you felt in your body, what "
            "you wanted to do, and what you did. Emotions carry messages and move us to act; "
            "none of them are 'bad'."
        ),
        "practice": (
            "Once a day, describe one emotion on your diary card in four parts: the "
            "prompting event, body sensations, the urge, and what you actually did. Try "
            "using a more precise word than 'bad' or 'upset'."
        ),
        "reflection_prompt": (
            "Which emotion is hardest for you to name or allow? What do you think it might "
            "be trying to tell you?"
        ),
    },
    {
        "number": 10,
        "module": "Emotion regulation",
        "topic": "Check the facts: does the emotion fit the situation?",
        "skill": (
            "Check the facts: what happened, what am I assuming, am I expecting a threat, "
            "and how big is it really? When an emotion fits the facts, it makes sense; when "
            "it does not, it may ease as the picture changes."
        ),
        "practice": (
            "Pick two moments this week when an emotion was strong. For each, write down "
            "the facts, your interpretations, and whether the emotion and its size fit the "
            "facts. Note your emotion's strength before and after (0 to 5)."
        ),
        "reflection_prompt": (
            "Is there a story you often tell yourself when things go wrong? What are the "
            "facts that support it, and the facts that do not?"
        ),
    },
    {
        "number": 11,
        "module": "Emotion regulation",
        "topic": "Opposite action and problem solving",
        "skill": (
            "When an emotion does not fit the facts, act opposite to its urge, all the way "
            "(approach instead of avoid, be gentle instead of attack). When it does fit, "
            "solve the problem step by step."
        ),
        "practice": (
            "Choose one situation where an emotion keeps you stuck. If the emotion does not "
            "fit the facts, try one opposite action. If it does, write the problem, brainstorm "
            "three options, choose one and try a first step. Record how it went."
        ),
        "reflection_prompt": ("What was it like to act opposite to an urge? What surprised you?"),
    },
    {
        "number": 12,
        "module": "Emotion regulation",
        "topic": "ABC PLEASE: caring for your mind and body to lower vulnerability",
        "skill": (
            "ABC: Accumulate positive experiences, Build mastery, Cope ahead. PLEASE: treat "
            "Physical illness, balanced Eating, Avoid mood-altering substances, balanced "
            "Sleep, and Exercise, in whatever way suits your body."
        ),
        "practice": (
            "Plan one small pleasant event a day and one thing that builds a sense of "
            "mastery. Choose one PLEASE area to nudge gently this week (for example, a "
            "steadier bedtime) and track it on your diary card. Small steps count."
        ),
        "reflection_prompt": (
            "Which part of PLEASE most affects your mood? What would a kind, realistic first "
            "step look like?"
        ),
    },
    {
        "number": 13,
        "module": "Mindfulness",
        "topic": "Mindfulness of others: bringing awareness into relationships",
        "skill": (
            "A short return to the core skills, turned toward other people: observing and "
            "describing what others say and do, without judgments or mind-reading."
        ),
        "practice": (
            "In one conversation a day, practise observing and describing: what words did "
            "the person actually use, what did you actually see? Note any judgments or "
            "guesses that came up on your diary card."
        ),
        "reflection_prompt": (
            "When do you find it hardest to stay present with other people? What pulls your "
            "attention away?"
        ),
    },
    {
        "number": 14,
        "module": "Interpersonal effectiveness",
        "topic": "Asking for what you want and saying no: DEAR MAN",
        "skill": (
            "DEAR MAN: Describe the situation, Express how you feel, Assert what you want "
            "clearly, Reinforce (say why it helps them too); stay Mindful, Appear confident, "
            "and be willing to Negotiate."
        ),
        "practice": (
            "Write a DEAR MAN script for one small request or refusal, then say it, in person "
            "or in a message. Rate how effective it felt (0 to 5), whatever the outcome. A "
            "'no' from the other person does not mean you did it wrong."
        ),
        "reflection_prompt": (
            "Which part of DEAR MAN comes easily to you, and which is hardest? What gets in "
            "the way?"
        ),
    },
    {
        "number": 15,
        "module": "Interpersonal effectiveness",
        "topic": "Keeping the relationship and your self-respect: GIVE and FAST",
        "skill": (
            "GIVE (for the relationship): be Gentle, act Interested, Validate, use an Easy "
            "manner. FAST (for self-respect): be Fair, no unneeded Apologies, Stick to your "
            "values, be Truthful."
        ),
        "practice": (
            "Use GIVE in one conversation with someone you care about, and FAST in one "
            "situation where you tend to give in or over-apologise. On your diary card, note "
            "how you felt about yourself afterwards."
        ),
        "reflection_prompt": (
            "Do you tend to protect the relationship at the cost of your self-respect, or the "
            "other way round? What would balance look like?"
        ),
    },
    {
        "number": 16,
        "module": "Interpersonal effectiveness",
        "topic": "Balancing priorities and demands, and carrying the skills forward",
        "skill": (
            "Balancing what you want, what others ask of you, and what keeps you well, and "
            "choosing how strongly to ask or say no in each situation. Then choosing the "
            "skills you will keep using after the course."
        ),
        "practice": (
            "List your current demands and priorities and notice where they are out of "
            "balance; choose one small change. Then write a one-page skills plan: your three "
            "most useful skills, when you will use them, and who can support you."
        ),
        "reflection_prompt": (
            "Which skill from these sixteen weeks has helped you most? What do you want to "
            "remember on a hard day?"
        ),
    },
]

DBT_SKILLS: ProgramSpec = {
    "slug": "dbt-skills",
    "kind": "skills",
    "title": "DBT Skills Group",
    "focus": "emotions",
    "summary": (
        "A 16-week class that teaches practical skills from Dialectical Behavior Therapy "
        "(DBT) for handling strong emotions, getting through hard moments and relationships."
    ),
    "description": (
        "This is an educational skills course, not therapy. Each week an instructor "
        "teaches one set of practical skills from Dialectical Behavior Therapy (DBT), "
        "with examples, time for questions, and a short practice to try between meetings. "
        "Many people find these skills help them feel a little steadier over time.\n\n"
        "The course covers four areas, explained in plain words: mindfulness (being "
        "present and seeing clearly), distress tolerance (getting through painful moments "
        "without making them worse), emotion regulation (understanding and easing strong "
        "feelings), and interpersonal effectiveness (asking for what you need and saying "
        "no while keeping your self-respect). Mindfulness comes back briefly between the "
        "other modules, because everything else builds on it.\n\n"
        "You will keep a simple diary card to track emotions, urges and the skills you "
        "try. You are not expected to get it right; practising is the point."
    ),
    "audience": (
        "Adults who feel their emotions are very intense or hard to manage, who act on "
        "urges they later regret, or who want practical tools for stress and relationships. "
        "Open to people in every state, on its own or alongside individual therapy. It is "
        "not therapy and is not right if you are in crisis right now: please call or text "
        "988, and we can help you find more intensive care."
    ),
    "weeks": 16,
    "minutes_per_meeting": 90,
    "default_capacity": 12,
    "min_group_size": 5,
    "for_couples": False,
    "curriculum": DBT_CURRICULUM,
}


# --------------------------------------------------------------------------------------
# 3. Circle of Connection: a relational care circle
# --------------------------------------------------------------------------------------

CIRCLE_CURRICULUM: list[WeekSpec] = [
    {
        "number": 1,
        "module": "Reaching out",
        "topic": "Noticing isolation: where we feel alone, and where we feel connected",
        "skill": (
            "Noticing without judging: loneliness is a common human signal, like hunger, "
            "telling us we need connection. It is not a sign that something is wrong with us."
        ),
        "practice": (
            "Draw a simple map of your connections: you in the middle, and the people, "
            "places and groups around you, closer or further away. Then send one 'just "
            "because' message to someone on the map: no reason needed, just 'thinking of you'."
        ),
        "reflection_prompt": (
            "When do you feel most alone? When did you last feel truly with someone, and what "
            "made it feel that way?"
        ),
    },
    {
        "number": 2,
        "module": "Reaching out",
        "topic": "Asking for help, even when it feels hard",
        "skill": (
            "Making a small, clear ask: what you need, when, and that it is fine to say no. "
            "Asking gives the other person a chance to connect too."
        ),
        "practice": (
            "Post one request on the care board this week, however small: company on a walk, "
            "a phone call on a tough evening, a ride to an appointment. Notice what you feel "
            "before you post and after someone responds."
        ),
        "reflection_prompt": (
            "What beliefs come up when you think about asking for help? Where did you learn "
            "them, and are they still true for you?"
        ),
    },
    {
        "number": 3,
        "module": "Reaching out",
        "topic": "Offering help: giving in ways that feel good for both people",
        "skill": (
            "Offering what you genuinely have to give (time, a skill, a meal, a listening "
            "ear) without over-stretching, and letting the other person say what would "
            "actually help."
        ),
        "practice": (
            "Post one offer on the care board: a walk, a call, a shared meal, a ride, an hour "
            "of childcare, or a game night. Keep it sized to what you can really give this "
            "week. Respond to one request from the circle if you can."
        ),
        "reflection_prompt": (
            "Is it easier for you to give or to receive? What happens inside you when the "
            "balance tips one way?"
        ),
    },
    {
        "number": 4,
        "module": "Growing together",
        "topic": "Mutual empathy: being moved by each other, and letting it show",
        "skill": (
            "Mutual empathy: letting another person see that their story has touched you, and "
            "letting yourself be touched by how they respond to yours. Both people are "
            "changed a little."
        ),
        "practice": (
            "In one conversation this week, tell someone how something they shared affected "
            "you ('When you told me about ..., I felt ...'). Also send one 'just because' "
            "message to someone from the circle."
        ),
        "reflection_prompt": (
            "Recall a time someone was truly moved by something you shared. What did it "
            "change for you?"
        ),
    },
    {
        "number": 5,
        "module": "Growing together",
        "topic": "Growth-fostering connection and the 'five good things'",
        "skill": (
            "Jean Baker Miller described 'five good things' that good connection brings: zest "
            "(energy), a sense of worth, clarity, the ability to act (productivity), and a "
            "desire for more connection."
        ),
        "practice": (
            "After each meaningful contact this week (including any care board match), "
            "jot down which of the five good things you felt, if any. Notice which "
            "relationships tend to bring them, and which tend to drain them."
        ),
        "reflection_prompt": (
            "Which relationship in your life brings you the most of the five good things? "
            "What do you bring to it?"
        ),
    },
    {
        "number": 6,
        "module": "Growing together",
        "topic": "Repair after disconnection: finding our way back to each other",
        "skill": (
            "Disconnections happen in every relationship. Repair means naming the hurt or "
            "distance, staying open to each other's view, and taking one step back toward "
            "the connection."
        ),
        "practice": (
            "Think of a small disconnection that feels safe to revisit, in the circle or "
            "beyond it. Take one step toward repair: a message, a question, an honest "
            "'I missed you'. Or offer a repair-friendly invitation on the care board, "
            "such as a walk or a game night."
        ),
        "reflection_prompt": (
            "When you feel hurt or left out, do you tend to move toward people, away from "
            "them, or against them? What helps you come back?"
        ),
    },
    {
        "number": 7,
        "module": "Keeping connection",
        "topic": "Sustaining connection through ordinary, busy weeks",
        "skill": (
            "Small, regular contact keeps connection alive: a short check-in, a shared "
            "routine, a standing walk or call. Connection does not need to be big to count."
        ),
        "practice": (
            "Set up one small, repeating point of contact with someone (a weekly call, a "
            "Sunday walk, a shared meal). Use the care board to find a partner if you like, "
            "and look at your giving and receiving on the mutuality view."
        ),
        "reflection_prompt": (
            "What usually gets in the way of staying in touch? What is one tiny habit that "
            "could make it easier?"
        ),
    },
    {
        "number": 8,
        "module": "Keeping connection",
        "topic": "Looking ahead: carrying the circle with you",
        "skill": (
            "Closing with care: naming what we have given and received, appreciating each "
            "other, and choosing how we want to stay connected after the circle ends."
        ),
        "practice": (
            "Revisit the connection map you drew in week one and update it. Write down two "
            "people you will keep reaching out to 'just because', and one way you would like "
            "to keep giving. Leave a thank-you on the care board if it feels right."
        ),
        "reflection_prompt": (
            "How has your map of connection changed over these eight weeks? What do you want "
            "to carry with you?"
        ),
    },
]

CIRCLE_OF_CONNECTION: ProgramSpec = {
    "slug": "circle-of-connection",
    "kind": "care_circle",
    "title": "Circle of Connection: a relational care circle",
    "focus": "connection",
    "summary": (
        "A facilitated peer circle where people practise giving and receiving support, "
        "ease loneliness together, and build connections that last beyond the group."
    ),
    "description": (
        "Loneliness is common, and it is not a personal failing. Circle of Connection is a "
        "small peer group where we practise the kind of connection that helps people grow: "
        "mutual, honest and warm, where everyone both gives and receives.\n\n"
        "Each week a trained facilitator opens a theme, such as asking for help, offering "
        "help, being moved by each other, or repairing after a rift, and the circle talks "
        "it through together. Between meetings, members use the circle's care board to "
        "offer or ask for everyday support: a walk, a phone call, a shared meal, a ride, "
        "some childcare or a game night, and to reach out to each other 'just because'.\n\n"
        "This is a peer circle, not therapy. Nobody is expected to fix anyone; we simply "
        "show up for each other, at whatever pace feels right."
    ),
    "audience": (
        "Adults who feel isolated or disconnected, have moved somewhere new, are going "
        "through a life change, or simply want more meaningful connection. Open to people "
        "in every state. It is not therapy and is not right if you are in crisis right now: "
        "please call or text 988. If you need clinical care, we can point you to our "
        "therapy groups."
    ),
    "weeks": 8,
    "minutes_per_meeting": 75,
    "default_capacity": 10,
    "min_group_size": 4,
    "for_couples": False,
    "curriculum": CIRCLE_CURRICULUM,
}


PROGRAMS: list[ProgramSpec] = [CLOSER, DBT_SKILLS, CIRCLE_OF_CONNECTION]

__all__ = [
    "DEMO_NOTE",
    "PROGRAMS",
    "FocusCode",
    "Kind",
    "ProgramSpec",
    "WeekSpec",
]
