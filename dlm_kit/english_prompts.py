"""The kit's English instruction prompts: project-authored word lists and templates.

Everything here was written for dlm-kit (no text copied from elsewhere). :func:`open_prompts`
crosses the lists with the templates into ~2,700 distinct questions in eight categories;
``scripts/make_english_chat.py`` has SmolLM2-135M-Instruct answer them (the teacher), and
:func:`dlm_kit.data.load_english_chat` serves the answers with the Wikipedia families.

    >>> prompts = open_prompts()
    >>> len(prompts) > 2000, len({p["prompt"] for p in prompts}) == len(prompts)
    (True, True)
    >>> sorted({p["category"] for p in prompts})[:3]
    ['advice', 'creative', 'definition']
"""

from __future__ import annotations

__all__ = ["open_prompts", "CATEGORIES", "unique_prompts", "word_list"]

TOPICS = """
the sun; the moon; the ocean; a volcano; an earthquake; a rainbow; a glacier; a desert; a rainforest; a river;
a mountain; an island; the weather; snow; thunder; lightning; the wind; clouds; the stars; a comet;
the planet Mars; the planet Jupiter; the Earth; gravity; electricity; magnets; light; sound; heat; water;
oxygen; carbon dioxide; a cell; DNA; the heart; the brain; the lungs; bones; blood; the skin;
bees; ants; butterflies; spiders; sharks; whales; dolphins; elephants; lions; tigers;
penguins; owls; eagles; frogs; snakes; horses; cows; dogs; cats; rabbits;
trees; flowers; grass; mushrooms; seeds; apples; bananas; oranges; rice; bread;
cheese; milk; coffee; tea; chocolate; honey; salt; sugar; soup; pizza;
a computer; the Internet; a smartphone; a camera; a clock; a bicycle; a car; a train; an airplane; a ship;
a bridge; a castle; a library; a museum; a hospital; a school; a farm; a city; a village; a market;
music; painting; poetry; dancing; theater; a novel; a newspaper; a map; a calendar; money;
football; tennis; chess; swimming; running; the Olympic Games; a marathon; a piano; a guitar; a violin;
friendship; kindness; honesty; patience; courage; happiness; sleep; exercise; breakfast; a holiday
"""

PEOPLE = """
Aristotle; Abraham Lincoln; Albert Einstein; Aldous Huxley; Ayn Rand; Andre Agassi; Arthur Schopenhauer;
Andrei Tarkovsky; Achilles; Isaac Newton; Marie Curie; William Shakespeare; Leonardo da Vinci;
Charles Darwin; Wolfgang Amadeus Mozart; Cleopatra; Napoleon; Mahatma Gandhi; Galileo Galilei;
Julius Caesar; Queen Victoria; Thomas Edison; Nikola Tesla; Jane Austen; Ludwig van Beethoven;
Vincent van Gogh; Pablo Picasso; Christopher Columbus; Neil Armstrong; Plato; Socrates; Confucius
"""

WIKI_TOPICS = """
anarchism; autism; albedo; Alabama; Algeria; anthropology; agricultural science; alchemy; animation;
Apollo 11; Apollo 8; the Atlantic Ocean; Andorra; the arithmetic mean; amphibians; Alaska; agriculture;
algae; alkanes; the abacus; acids; asphalt; astronauts; the alphabet; the atomic number; anatomy;
ambiguity; the aardvark; the aardwolf; Asia; Aruba; Angola; Alberta; Afghanistan; Albania; Azerbaijan;
amateur astronomy; aikido; art; the ampere; algorithms; altruism; ASCII; the Academy Awards;
the American Revolutionary War; the Articles of Confederation; International Atomic Time; alkali metals
"""

WORDS = """
harbor; brave; ancient; curious; gentle; journey; harvest; whisper; shelter; bright; fragile; generous;
humble; island; lantern; meadow; narrow; orbit; puzzle; quiet; rapid; silent; thirsty; tiny; enormous;
valley; wander; yearn; anchor; balance; candle; desert; echo; forest; glimpse; horizon; invent; jungle;
kettle; ladder; marble; needle; ocean; pillow; riddle; saddle; timber; umbrella; velvet; window;
borrow; celebrate; decide; explore; forgive; gather; hesitate; imagine; listen; measure; notice; observe;
protect; remember; share; travel; understand; visit; whistle; argue; believe; compare; describe; improve;
calm; clever; cozy; eager; fierce; honest; loyal; modest; polite; proud; sincere; stubborn; wise;
library; recipe; orchestra; telescope; volcano; planet; climate; habitat; fossil; energy; engine; factory;
election; government; history; language; mystery; neighbor; opinion; promise; question; reason; season;
treasure; victory; welcome; absent; accurate; awkward; bitter; crowded; delicate; distant; dusty;
elegant; famous; frozen; grateful; hollow; huge; jealous; lively; lonely; messy; nervous; noisy;
ordinary; patient; plain; precious; rare; rough; scarce; sharp; shiny; smooth; steep; sturdy; swift;
tender; vast; vivid; weary; wild; adventure; bargain; blossom; breeze; canyon; cottage; courage;
custom; dawn; dialogue; elbow; fable; feast; flame; glacier; gravity; hobby; insect; ivory; kingdom;
legend; magnet; mirror; monument; nest; oasis; parade; pebble; portrait; prairie; pyramid; quarrel;
rhythm; ritual; scholar; shadow; signal; sketch; spice; storm; summit; symbol; thunder; tide; trophy
"""

WHY_QUESTIONS = """
Why is the sky blue?; Why do leaves change color in autumn?; Why does ice float on water?;
Why do we need sleep?; Why do birds migrate?; Why does the moon change shape?; Why does bread rise?;
Why does metal feel cold?; Why do we have seasons?; Why is the ocean salty?; Why do cats purr?;
Why do we yawn?; Why do onions make people cry?; Why do stars twinkle?; Why is exercise good for you?;
Why do plants need sunlight?; Why do we dream?; Why does thunder follow lightning?; Why do bees make honey?;
Why is water important for life?; Why do people learn history?; Why do we brush our teeth?;
Why do dogs wag their tails?; Why is reading good for children?; Why do volcanoes erupt?;
Why do we need to recycle?; Why does the wind blow?; Why do some animals hibernate?;
Why is the desert hot during the day and cold at night?; Why do apples turn brown after cutting?;
Why do we have fingerprints?; Why do ships float?; Why do we sneeze?; Why is the grass green?;
Why do people keep pets?; Why do rivers flow to the sea?; Why do we wear warm clothes in winter?;
Why are bees important?; Why do we need friends?; Why is it dark at night?
"""

HOW_THINGS = """
a bicycle; a refrigerator; a compass; a thermometer; a light bulb; a telephone; a microwave oven;
a windmill; a parachute; a lock and key; a camera; a solar panel; a vaccine; a rainbow; a battery;
a washing machine; a clock; a submarine; a kite; a telescope; a printer; an elevator; a heater;
photosynthesis; digestion; the water cycle; a library card; a seed growing into a plant
"""

CATEGORIES = """
fruits; vegetables; colors; animals that live in the sea; birds; insects; musical instruments;
countries in Europe; countries in Africa; countries in Asia; planets; sports; games children play;
kitchen tools; jobs; things you can find in a classroom; things you can find in a park; kinds of weather;
languages; farm animals; pets; trees; flowers; body parts; clothes; things people drink; breakfast foods;
school subjects; shapes; large cities; rivers; kinds of transport; famous scientists; famous painters;
things that are cold; things that are hot; things that fly; things made of wood; things made of metal;
hobbies; months of the year; days of the week; emotions; ways to save water; ways to be kind;
healthy snacks; things you need for a picnic; things you take on a trip; board games; types of music;
reasons to exercise; things that are round; things found in space; desserts; wild animals
"""

SENTENCES = """
The meeting was postponed because too few people could attend.; I am going to the shop to buy some bread.;
The children played in the garden until it got dark.; She reads a book every night before she sleeps.;
The weather is terrible and the roads are icy.; We need to finish this report by Friday.;
Give me the salt.; My brother fixes old bicycles in his free time.; The train leaves at six in the morning.;
The committee approved the new budget after a long discussion.; He forgot his umbrella and got wet.;
The museum is closed on Mondays.; They built a small house near the river.; Close the window.;
The teacher explained the lesson twice.; Our dog barks at every car that passes.;
The company hired twenty new workers this year.; I cannot find my keys anywhere.;
The soup is too hot to eat right now.; The students planted trees around the school.;
Bring me the report.; The city opened a new library last week.; It rains a lot in this region in spring.;
The baker wakes up very early every day.; The concert was cancelled because of the storm.;
My grandmother grows tomatoes and beans.; The store will not accept returns after thirty days.;
Turn off the lights when you leave.; The scientists studied the ice for many years.;
The old bridge was repaired last summer.; We walk to school when the weather is nice.;
The film was long but very interesting.; Tell me what happened.; The farmer feeds the chickens every morning.;
The price of fuel has increased again.; She painted the fence white.; The boat sailed across the lake.;
The doctor told him to rest for a week.; This road leads to the old castle.; Move your car.;
The birds fly south when winter comes.; The library lends books for two weeks.;
The team won the final match by one goal.; The baby slept through the whole night.;
Many people visit the park on Sundays.; The printer is out of paper again.;
The manager signed the contract yesterday.; The cake needs another ten minutes in the oven.;
Answer the phone.; The river flooded the fields after the heavy rain.
"""

GREETINGS = """
Hello!; Hi there!; Good morning!; Good evening!; How are you today?; Nice to meet you.; Thank you!;
Thanks for your help.; Goodbye!; See you later.; What is your name?; Who are you?; What can you do?;
Can you help me?; Tell me a joke.; I feel sad today.; I am bored.; I am happy today!; Have a nice day.;
Do you like music?; What is your favorite color?; Can we be friends?; I passed my exam!;
I am tired after work.; Good night!; Welcome back!; Happy birthday!; Sorry, I made a mistake.;
Are you a robot?; How old are you?; Where are you from?; I need some advice.; Say something nice.;
Can you speak English?; Please help me with my homework.; It is raining again.; I lost my phone.;
I am learning to cook.; What should I do this weekend?; Cheer me up, please.
"""

GOALS = """
sleep better; learn a new language; save money; stay healthy; make new friends; cook rice; keep my room tidy;
study for an exam; drink more water; read more books; be more patient; wake up early; manage my time;
learn to swim; grow tomatoes; reduce stress; write a good essay; speak in public; take care of a cat;
take care of a dog; learn to play the guitar; prepare for a job interview; stay safe in a storm;
keep a plant alive; be a good listener; stay focused; eat more vegetables; walk more every day;
save electricity at home; remember new words; calm down when I am angry; make a good first impression;
plan a trip; write a polite email; get better at chess; keep my phone battery healthy; help my neighbors;
protect my eyes from screens; learn to draw; cook a simple dinner
"""

FACT_TEMPLATES = ("Tell me about {t}.", "Tell me one fact about {t}.", "Describe {t} in one sentence.")
PERSON_TEMPLATES = ("Who was {t}?", "What is {t} known for?", "Tell me one fact about {t}.")
WORD_TEMPLATES = ('What does the word "{t}" mean?', 'Define the word "{t}".', 'Use the word "{t}" in a sentence.')
LIST_TEMPLATES = ("List three {t}.", "Name three {t}.", "Give two examples of {t}.")
REWRITE_TEMPLATES = (
    "Rewrite this sentence in simpler words: {t}",
    "Make this sentence more polite: {t}",
    "Rewrite this sentence in the past tense: {t}",
    "Summarize this sentence in a few words: {t}",
)
ADVICE_TEMPLATES = ("How can I {t}?", "Give me one tip to {t}.")
CREATIVE_TEMPLATES = ("Write one sentence about {t}.", "Describe {t} to a child.")


def word_list(text: str) -> list[str]:
    """The items of a ``;``-separated list written over several lines.

    >>> word_list("a cat; a dog;\\n the sun")
    ['a cat', 'a dog', 'the sun']
    """
    return [item.strip() for item in text.replace("\n", " ").split(";") if item.strip()]


def unique_prompts(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """``rows`` without the ones whose ``prompt`` an earlier row already asks, in order.

    >>> unique_prompts([{"prompt": "Hi"}, {"prompt": "Yo"}, {"prompt": "Hi"}])
    [{'prompt': 'Hi'}, {'prompt': 'Yo'}]
    """
    seen: set[str] = set()
    return [row for row in rows if not (row["prompt"] in seen or seen.add(row["prompt"]))]


def open_prompts() -> list[dict[str, str]]:
    """Every open question of the kit's English instruction set: ``{"category", "prompt"}`` rows, no duplicates."""
    rows: list[dict[str, str]] = []

    def add(category: str, templates, items) -> None:
        rows.extend({"category": category, "prompt": template.format(t=item)} for item in items for template in templates)

    topics = word_list(TOPICS) + word_list(WIKI_TOPICS)
    add("fact", FACT_TEMPLATES, topics)
    add("fact", PERSON_TEMPLATES, word_list(PEOPLE))
    add("definition", WORD_TEMPLATES, word_list(WORDS))
    add("explanation", ("{t}",), word_list(WHY_QUESTIONS))
    add("explanation", ("How does {t} work?", "Explain {t} in simple words."), word_list(HOW_THINGS))
    add("list", LIST_TEMPLATES, word_list(CATEGORIES))
    add("rewrite", REWRITE_TEMPLATES, word_list(SENTENCES))
    add("greeting", ("{t}",), word_list(GREETINGS))
    add("advice", ADVICE_TEMPLATES, word_list(GOALS))
    add("creative", CREATIVE_TEMPLATES, word_list(TOPICS))
    return unique_prompts(rows)
