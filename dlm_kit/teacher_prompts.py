"""The teacher prompt set for ``bert-chat``: ~24,000 questions, topics x question types, split by topic.

Everything here was written for dlm-kit (no text copied from elsewhere). Each *topic* (an animal,
a food, a country, a city, a job, an everyday object, a science or nature idea, an activity, a
word, a goal, a list category, a sentence to rewrite, a Wikipedia article title of gensim's
sample, a greeting) is crossed with the question *types* that make sense for it: ``fact``,
``definition``, ``why_how``, ``list``, ``describe``, ``compare``, ``rewrite``, ``greet``,
``advise``, ``creative``. ``scripts/make_teacher_data.py`` has SmolLM2-135M-Instruct answer them.

The held-out split is **by topic**: about 6 % of each kind's topics (chosen by a seeded shuffle)
are test topics, and every question about a test topic (in any kind: "Angola" the country and
"Angola" the article) is a test question, so a model is judged on things it never read a question
about; a comparison that touches a test topic is a test question.

    >>> rows = teacher_prompts()
    >>> len(rows) >= 20000, len({r["prompt"] for r in rows}) == len(rows)
    (True, True)
    >>> sorted({r["type"] for r in rows})[:4]
    ['advise', 'compare', 'creative', 'definition']
    >>> test_topics = {r["topic"] for r in rows if r["split"] == "test" and r["type"] != "compare"}
    >>> any(set(topic_names(r)) & test_topics for r in rows if r["split"] == "train")
    False
"""

from __future__ import annotations

import random
from collections.abc import Iterable

# the sentences to rewrite and the first rewrite templates are the open prompt set's (english_prompts)
from .english_prompts import REWRITE_TEMPLATES as OPEN_REWRITE_TEMPLATES
from .english_prompts import SENTENCES, word_list

__all__ = ["teacher_prompts", "topic_names", "TOPIC_KINDS", "QUESTION_TYPES", "TEST_FRACTION", "article", "plural"]

TEST_FRACTION = 0.06
"""Share of each kind's topics held out (every question about them is a test question)."""

QUESTION_TYPES = ("fact", "definition", "why_how", "list", "describe", "compare", "rewrite", "greet", "advise", "creative")

ANIMALS = """
cat; dog; horse; cow; pig; sheep|sheep; goat; chicken; duck; goose|geese; rabbit; mouse|mice; rat; hamster;
elephant; lion; tiger; leopard; cheetah; giraffe; zebra; hippo; rhino; camel; kangaroo; koala; panda;
bear; wolf|wolves; fox; deer|deer; moose|moose; squirrel; hedgehog; bat; monkey; gorilla; chimpanzee;
orangutan; sloth; otter; beaver; raccoon; skunk; badger; mole; bison|bison; buffalo|buffaloes; donkey;
llama; alpaca; yak; seal; walrus; polar bear; penguin; dolphin; whale; shark; octopus|octopuses;
jellyfish|jellyfish; starfish|starfish; crab; lobster; shrimp|shrimp; snail; slug; worm; frog; toad;
turtle; tortoise; crocodile; alligator; lizard; snake; chameleon; iguana; eagle; owl; parrot; pigeon;
crow; sparrow; robin; swan; flamingo; peacock; ostrich; hawk; falcon; woodpecker; hummingbird; seagull;
pelican; bee; ant; butterfly|butterflies; moth; spider; mosquito|mosquitoes; fly|flies; beetle;
ladybug; grasshopper; dragonfly|dragonflies; scorpion; salmon|salmon; goldfish|goldfish; tuna|tuna;
eel; seahorse; hyena; jaguar; lynx|lynxes; armadillo; porcupine; platypus|platypuses; lemur; meerkat;
antelope; reindeer|reindeer; hare; ferret; mule; pony|ponies; turkey; canary|canaries; crane; heron
"""

FOODS = """
apple; banana; orange; grape; strawberry|strawberries; lemon; mango|mangoes; pineapple; watermelon;
peach|peaches; pear; cherry|cherries; plum; kiwi; coconut; avocado; blueberry|blueberries; tomato|tomatoes;
potato|potatoes; carrot; onion; garlic|garlic; cabbage; lettuce|lettuce; spinach|spinach; broccoli|broccoli;
cucumber; pumpkin; pepper; mushroom; bean; pea; corn|corn; rice|rice; bread|bread; pasta|pasta;
noodle; cheese|cheese; butter|butter; yogurt|yogurt; milk|milk; egg; honey|honey; chocolate|chocolate;
sugar|sugar; salt|salt; soup|soup; salad; sandwich|sandwiches; pizza; hamburger; pancake; cookie; cake;
pie; ice cream|ice cream; popcorn|popcorn; oatmeal|oatmeal; cereal|cereal; tea|tea; coffee|coffee;
juice|juice; lemonade|lemonade; olive oil|olive oil; peanut; almond; walnut; tofu|tofu; sushi|sushi;
curry|curry; porridge|porridge; jam|jam; vinegar|vinegar; cinnamon|cinnamon; ginger|ginger; flour|flour;
fish soup|fish soup; dumpling; taco; omelette; muffin; waffle; toast|toast; beef|beef; chicken soup|chicken soup;
lentil; chickpea; date; fig; melon; raisin; sweet potato|sweet potatoes; celery|celery; radish|radishes;
beetroot|beetroot; zucchini|zucchini; eggplant; grapefruit; lime; apricot; raspberry|raspberries
"""

COUNTRIES = """
France; Germany; Italy; Spain; Portugal; Greece; Norway; Sweden; Finland; Denmark; Iceland; Ireland;
the United Kingdom; the Netherlands; Belgium; Switzerland; Austria; Poland; Hungary; Romania; Ukraine;
Russia; Turkey; Egypt; Morocco; Kenya; Nigeria; Ghana; Ethiopia; South Africa; Tanzania; Algeria;
Tunisia; Senegal; Madagascar; India; China; Japan; South Korea; Vietnam; Thailand; Indonesia;
the Philippines; Malaysia; Nepal; Pakistan; Bangladesh; Iran; Iraq; Israel; Saudi Arabia; Mongolia;
Australia; New Zealand; Canada; the United States; Mexico; Cuba; Jamaica; Brazil; Argentina; Chile;
Peru; Colombia; Venezuela; Bolivia; Ecuador; Uruguay; Paraguay; Czechia; Slovakia; Croatia; Serbia;
Bulgaria; Estonia; Latvia; Lithuania; Luxembourg; Monaco; Malta; Cyprus; Jordan; Lebanon; Syria;
Afghanistan; Uzbekistan; Kazakhstan; Sri Lanka; Cambodia; Laos; Singapore; Fiji; Costa Rica; Panama;
Guatemala; Honduras; Uganda; Rwanda; Zambia; Zimbabwe; Namibia; Botswana; Angola; Cameroon; Mali; Sudan
"""

CITIES = """
Paris; London; Berlin; Rome; Madrid; Lisbon; Athens; Vienna; Prague; Budapest; Warsaw; Amsterdam;
Brussels; Dublin; Oslo; Stockholm; Helsinki; Copenhagen; Moscow; Istanbul; Cairo; Nairobi; Lagos;
Cape Town; Tokyo; Kyoto; Seoul; Beijing; Shanghai; Hong Kong; Bangkok; Singapore; Jakarta; Manila;
Delhi; Mumbai; Dubai; Sydney; Melbourne; Auckland; Toronto; Vancouver; Montreal; New York; Chicago;
Los Angeles; San Francisco; Boston; Mexico City; Havana; Rio de Janeiro; Buenos Aires; Lima; Santiago;
Venice; Florence; Barcelona; Munich; Edinburgh; Geneva; Marrakesh; Jerusalem; Hanoi; Kathmandu;
Reykjavik; Zurich; Naples; Milan; Seville; Krakow; St Petersburg; Osaka; Taipei; Washington
"""

JOBS = """
teacher; doctor; nurse; farmer; baker; chef; cook; pilot; driver; firefighter; police officer; soldier;
scientist; engineer; architect; lawyer; judge; dentist; vet; pharmacist; plumber; electrician;
carpenter; painter; artist; musician; singer; actor; writer; poet; journalist; photographer;
librarian; shopkeeper; cashier; waiter; tailor; barber; hairdresser; mechanic; programmer; designer;
accountant; banker; gardener; fisherman|fishermen; sailor; astronaut; astronomer; biologist; chemist;
physicist; historian; translator; secretary; manager; cleaner; builder; miner; postman|postmen;
delivery driver; lifeguard; coach; athlete; dancer; tour guide; zookeeper; beekeeper; potter;
butcher; florist; jeweler; surgeon; paramedic; psychologist; economist; geologist; detective; mayor;
nanny|nannies; babysitter; taxi driver; bus driver; lumberjack; shepherd; blacksmith; editor; professor
"""

OBJECTS = """
chair; table; bed; lamp; door; window; key; lock; clock; watch|watches; mirror; pillow; blanket; towel;
cup; plate; spoon; fork; knife|knives; bowl; pot; pan; kettle; oven; fridge; microwave; toaster;
washing machine; vacuum cleaner; broom; bucket; ladder; hammer; nail; screwdriver; saw; shovel;
rope; candle; match|matches; umbrella; bag; backpack; wallet; coin; pen; pencil; eraser; ruler; notebook;
book; newspaper; map; calendar; envelope; stamp; letter; telephone; smartphone; computer; laptop;
keyboard; mouse pad; printer; camera; television; radio; headphones|headphones; battery|batteries;
light bulb; fan; heater; bicycle; car; bus|buses; train; airplane; helicopter; boat; ship; submarine;
rocket; tractor; truck; motorcycle; skateboard; kite; balloon; ball; doll; puzzle; drum; guitar;
piano; violin; flute; trumpet; bell; compass; thermometer; telescope; microscope; magnet; globe;
hat; coat; scarf|scarves; glove; shoe; sock; shirt; dress|dresses; belt; button; zipper; needle;
thread|thread; scissors|scissors; glue|glue; tape|tape; brush|brushes; comb; toothbrush|toothbrushes;
soap|soap; bottle; jar; box|boxes; basket; tent; sleeping bag; flashlight; fence; bridge; tunnel;
elevator; escalator; stairs|stairs; wheel; engine; windmill; solar panel; robot; calculator; sofa;
bench; swing; slide; sandcastle; snowman|snowmen; treasure map; lantern; anchor; parachute
"""

SCIENCE = """
the sun; the moon; the Earth; the stars; Mars; Jupiter; Saturn; Venus; Mercury; a comet; a black hole;
the solar system; the Milky Way; gravity; electricity; magnetism; light; sound; heat; energy; friction;
water; ice; steam; air; oxygen; carbon dioxide; nitrogen; hydrogen; iron; gold; silver; copper;
a cell; DNA; bacteria; viruses; the heart; the brain; the lungs; the stomach; bones; muscles; blood;
the skin; teeth; the eyes; the ears; sleep; dreams; photosynthesis; evaporation; the water cycle;
rain; snow; hail; fog; thunder; lightning; the wind; clouds; a rainbow; a tornado; a hurricane;
an earthquake; a volcano; a tsunami; a glacier; a desert; a rainforest; a river; a lake; the ocean;
a mountain; a valley; a cave; an island; a beach; a forest; a swamp; the seasons; winter; summer;
spring; autumn; the climate; pollution; recycling; fossils; dinosaurs; evolution; atoms; molecules;
plastic; glass; wood; stone; sand; soil; fire; smoke; rust; a magnet; a battery; the Internet;
electric cars; wind power; solar power; vaccines; medicine; vitamins; calories; the immune system;
the tides; the horizon; the equator; the North Pole; the South Pole; time zones; the calendar;
numbers; fractions; triangles; circles; the alphabet; grammar; money; taxes; democracy; history;
maps; the Olympic Games; the Middle Ages; the Stone Age; the printing press; the wheel; pyramids
"""

ACTIVITIES = """
swimming; running; cycling; hiking; climbing; skiing; skating; surfing; sailing; fishing; camping;
gardening; cooking; baking; painting; drawing; singing; dancing; reading; writing; knitting; sewing;
photography; chess; football; basketball; tennis; volleyball; baseball; cricket; golf; boxing;
yoga; karate; judo; archery; rowing; table tennis; badminton; horse riding; bird watching;
board games; card games; video games; juggling; origami; pottery; woodworking; stamp collecting;
playing the piano; playing the guitar; learning languages; volunteering; meditation; journaling;
walking the dog; jogging; stretching; birdwatching; stargazing; kayaking; snowboarding; skateboarding
"""

WORDS = """
happy; sad; brave; curious; gentle; honest; loyal; polite; proud; wise; clever; calm; eager; fierce;
humble; generous; patient; lazy; busy; quiet; loud; bright; dark; ancient; modern; tiny; enormous;
huge; narrow; wide; rapid; slow; silent; noisy; fragile; sturdy; smooth; rough; sharp; dull; shiny;
dusty; frozen; hollow; vast; vivid; weary; wild; rare; plain; precious; scarce; steep; swift; tender;
bitter; sweet; sour; salty; delicate; distant; elegant; famous; grateful; jealous; lively; lonely;
messy; nervous; ordinary; awkward; accurate; crowded; absent; cozy; fancy; greedy; kind; rude; shy;
strict; stubborn; sincere; modest; cheerful; clumsy; fearless; foolish; gloomy; graceful; hungry;
thirsty; sleepy; brilliant; careful; careless; cruel; empty; full; heavy; light; easy; difficult;
harbor; journey; harvest; whisper; shelter; lantern; meadow; orbit; riddle; echo; glimpse; horizon;
ladder; marble; needle; pillow; saddle; timber; velvet; blossom; breeze; canyon; cottage; courage;
custom; dawn; dialogue; fable; feast; flame; hobby; kingdom; legend; monument; nest; oasis; parade;
pebble; portrait; prairie; quarrel; rhythm; ritual; scholar; shadow; signal; sketch; spice; storm;
summit; symbol; tide; trophy; bargain; adventure; treasure; victory; welcome; mystery; neighbor;
opinion; promise; reason; season; habit; talent; wisdom; freedom; friendship; kindness; honesty;
patience; happiness; sadness; anger; fear; hope; trust; respect; justice; peace; knowledge; memory;
borrow; celebrate; decide; explore; forgive; gather; hesitate; imagine; listen; measure; notice;
observe; protect; remember; share; travel; understand; visit; whistle; argue; believe; compare;
describe; improve; wander; yearn; invent; discover; build; climb; repair; grow; teach; learn; explain;
create; destroy; arrive; depart; accept; refuse; admire; avoid; collect; deliver; encourage; escape;
hurry; ignore; invite; laugh; manage; offer; prepare; pretend; rescue; search; shiver; sparkle; whisk
"""

GOALS = """
sleep better; learn a new language; save money; stay healthy; make new friends; cook rice; keep my room tidy;
study for an exam; drink more water; read more books; be more patient; wake up early; manage my time;
learn to swim; grow tomatoes; reduce stress; write a good essay; speak in public; take care of a cat;
take care of a dog; learn to play the guitar; prepare for a job interview; stay safe in a storm;
keep a plant alive; be a good listener; stay focused; eat more vegetables; walk more every day;
save electricity at home; remember new words; calm down when I am angry; make a good first impression;
plan a trip; write a polite email; get better at chess; help my neighbors; protect my eyes from screens;
learn to draw; cook a simple dinner; stop procrastinating; be more confident; keep my teeth healthy;
stay warm in winter; stay cool in summer; learn to ride a bike; make a budget; pack for a holiday;
start running; fall asleep faster; make my home greener; waste less food; learn to type faster;
keep in touch with friends; be kind to myself; prepare for a long flight; choose a good book;
take better photos; organize my desk; learn to cook pasta; stay safe online; make a good password;
learn math; improve my handwriting; be on time; take notes in class; plan a birthday party;
care for a goldfish; start a garden; bake bread; clean my kitchen; stay motivated; relax after work;
talk to a shy person; make a friend laugh; apologize to a friend; say no politely; ask for help;
wash my clothes; fix a flat tire; get fit at home; drink less coffee; eat a healthy breakfast;
protect my skin from the sun; study with a friend; learn a song; write a short story; travel on a budget
"""

LIST_CATEGORIES = """
fruits; vegetables; colors; animals that live in the sea; birds; insects; musical instruments;
countries in Europe; countries in Africa; countries in Asia; countries in South America; planets; sports;
games children play; kitchen tools; jobs; things you can find in a classroom; things you can find in a park;
kinds of weather; languages; farm animals; pets; trees; flowers; body parts; clothes; things people drink;
breakfast foods; school subjects; shapes; large cities; rivers; kinds of transport; famous scientists;
famous painters; things that are cold; things that are hot; things that fly; things made of wood;
things made of metal; hobbies; months of the year; days of the week; emotions; ways to save water;
ways to be kind; healthy snacks; things you need for a picnic; things you take on a trip; board games;
types of music; reasons to exercise; things that are round; things found in space; desserts; wild animals;
things in a kitchen; things in a bathroom; tools; toys; winter clothes; summer activities; green things;
red fruits; yellow things; animals with stripes; animals that can swim; animals that live in the desert;
animals that live in Africa; things that make noise; things you can read; things that use electricity;
things you can recycle; jobs in a hospital; jobs outdoors; ways to travel; things at the beach;
things in the sky; herbs and spices; kinds of bread; kinds of cheese; nuts; berries; dog breeds;
things that are soft; things that are sharp; sources of energy; kinds of rock; metals; gases; oceans;
continents; mountains; deserts; holidays; party games; breakfast drinks; things you plant in a garden;
good habits; polite words; things to do on a rainy day; things to do in summer; things to do in winter;
musical styles; dances; kinds of boats; kinds of birds of prey; reptiles; mammals; amphibians
"""

WHY_HOW = """
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
Why do we need friends?; Why is it dark at night?; Why do we get hungry?; Why do we shiver?;
Why does the sun rise in the east?; Why do clouds float?; Why does it snow?; Why do we sweat?;
How do birds fly?; How do fish breathe?; How do plants grow?; How is rain made?; How do bees make honey?;
How does the heart work?; How do we hear sounds?; How do we see colors?; How are mountains made?;
How does a seed become a tree?; How do airplanes stay in the air?; How is paper made?; How is glass made?;
How is cheese made?; How do magnets work?; How does a rainbow form?; How do volcanoes form?;
How do caterpillars become butterflies?; How do tides work?; How do vaccines work?; How is chocolate made?;
How does the Internet work?; How do batteries work?; How do we get electricity?; How does soap clean?;
How do spiders make webs?; How do camels survive in the desert?; How do penguins keep warm?
"""

GREETINGS = """
Hello!; Hi there!; Good morning!; Good afternoon!; Good evening!; How are you today?; Nice to meet you.;
Thank you!; Thanks for your help.; Goodbye!; See you later.; What is your name?; Who are you?;
What can you do?; Can you help me?; Tell me a joke.; I feel sad today.; I am bored.; I am happy today!;
Have a nice day.; Do you like music?; What is your favorite color?; Can we be friends?; I passed my exam!;
I am tired after work.; Good night!; Welcome back!; Happy birthday!; Sorry, I made a mistake.;
Are you a robot?; How old are you?; Where are you from?; I need some advice.; Say something nice.;
Can you speak English?; Please help me with my homework.; It is raining again.; I lost my phone.;
I am learning to cook.; What should I do this weekend?; Cheer me up, please.; Hey, how is it going?;
I got a new puppy!; I am nervous about tomorrow.; What a beautiful day!; I cannot sleep.;
I am hungry.; I finished my book.; My friend is sick.; I just moved to a new city.; Do you like cats?;
What do you think about dogs?; Tell me something interesting.; Tell me a fun fact.; I am learning English.;
Can you tell me a story?; Give me a compliment.; I had a long day.; I won the game!; Merry Christmas!;
Happy New Year!; Congratulations to me, I got the job!; What time is it?; Are you happy?; Do you sleep?;
What is your favorite food?; What is your favorite animal?; I like your answers.; You are very helpful.;
Good luck with your day.; I miss my family.; My cat is sleeping on my keyboard.; I am going on holiday!
"""

# rewrite sentences are also composed from these parts (subject, verb phrase, time)
SUBJECTS = ("My sister", "The old man", "Our neighbor", "The little boy", "The new student", "My father",
            "The young girl", "Our teacher", "The tired driver", "My best friend", "The busy doctor", "The farmer")
ACTIONS = ("walks the dog", "cooks dinner", "reads the newspaper", "cleans the kitchen", "waters the plants",
           "rides a bicycle to work", "plays the piano", "writes a letter", "fixes the roof", "paints the door",
           "feeds the cat", "washes the car", "visits the market", "sings in the choir")
TIMES = ("every morning", "on Sundays", "after school", "before breakfast", "in the evening", "twice a week")
REWRITE_TEMPLATES = OPEN_REWRITE_TEMPLATES + (
    "Turn this sentence into a question: {t}", "Rewrite this sentence in the future tense: {t}",
    "Make this sentence sound more exciting: {t}",
)

WIKI_TEMPLATES = ("What is {t}?", "Tell me about {t}.", "Tell me one fact about {t}.", "Describe {t} in one sentence.",
                  "Why is {t} important?", "Explain {t} to a child.")

# Each kind: its topics and its templates, by question type. In templates {s} is the singular with
# its article ("an elephant"), {n} the bare singular ("elephant"), {p} the plural ("elephants"), {t}
# the topic as written, {be}/{Be}/{do} agree with {p} ("apples are", "rice is"); compare templates also take {s2}/{n2}/{p2}/{t2} of a second topic.
TOPIC_KINDS: dict[str, dict] = {
    "animal": {"items": ANIMALS, "countable": True, "types": {
        "fact": ("Tell me about {p}.", "Tell me one fact about {p}.", "Where do {p} live?", "What do {p} eat?",
                 "How many legs does {s} have?", "How long do {p} live?", "How big is {s}?", "Can {p} swim?",
                 "What sound does {s} make?", "What color is {s}?"),
        "definition": ("What is {s}?", "What kind of animal is {s}?"),
        "why_how": ("Why are {p} important?", "How do {p} find food?", "How do {p} sleep?", "How do {p} protect themselves?"),
        "list": ("List three facts about {p}.", "Name two things that {p} eat."),
        "describe": ("Describe {s} in one sentence.", "Describe {p} to a child.", "What does {s} look like?"),
        "creative": ("Write one sentence about {s}.", "Write a short poem about {s}.", "Tell me a short story about {s}."),
        "advise": ("How do I take care of {s}?",),
        "compare": ("What is the difference between {s} and {s2}?", "Compare {p} and {p2}.", "Which is bigger, {s} or {s2}?"),
    }},
    "food": {"items": FOODS, "countable": False, "types": {
        "fact": ("Tell me about {p}.", "Tell me one fact about {p}.", "Where {do} {p} come from?", "What color {be} {p}?",
                 "{Be} {p} healthy?", "What {be} {p} made of?", "Which vitamins {do} {p} have?"),
        "definition": ("What {be} {p}?",),
        "why_how": ("How {be} {p} made?", "Why do people like {p}?", "How do you store {p}?", "How {do} {p} grow?"),
        "list": ("Name three dishes made with {p}.", "List two ways to eat {p}."),
        "describe": ("Describe {p} in one sentence.", "What {do} {p} taste like?"),
        "creative": ("Write one sentence about {p}.", "Write a short poem about {p}."),
        "advise": ("Give me a simple recipe with {p}.", "How can I cook {p}?"),
        "compare": ("What is the difference between {p} and {p2}?", "Which is healthier, {p} or {p2}?"),
    }},
    "country": {"items": COUNTRIES, "countable": None, "types": {
        "fact": ("What is the capital of {t}?", "Tell me about {t}.", "Tell me one fact about {t}.", "Where is {t}?",
                 "What language do people speak in {t}?", "What is {t} famous for?", "What is the weather like in {t}?",
                 "What food is {t} known for?", "What animals live in {t}?"),
        "describe": ("Describe {t} in one sentence.",),
        "why_how": ("Why do people visit {t}?",),
        "list": ("Name two cities in {t}.", "List three things to see in {t}."),
        "advise": ("What should I pack for a trip to {t}?",),
        "compare": ("What is the difference between {t} and {t2}?",),
    }},
    "city": {"items": CITIES, "countable": None, "types": {
        "fact": ("Tell me about {t}.", "In which country is {t}?", "What is {t} known for?", "Tell me one fact about {t}."),
        "describe": ("Describe {t} in one sentence.",),
        "list": ("List three things to do in {t}.",),
        "creative": ("Write one sentence about {t}.",),
        "compare": ("Compare {t} and {t2}.",),
    }},
    "job": {"items": JOBS, "countable": True, "types": {
        "fact": ("What does {s} do?", "Where does {s} work?", "What tools does {s} use?", "What does {s} wear at work?"),
        "definition": ("What is {s}?",),
        "why_how": ("How do I become {s}?", "Why are {p} important?", "Is it hard to be {s}?"),
        "list": ("What skills does {s} need?", "List three things {s} does every day."),
        "describe": ("Describe the job of {s}.", "Describe a day in the life of {s}."),
        "creative": ("Write one sentence about {s}.", "Tell me a short story about {s}."),
        "compare": ("What is the difference between {s} and {s2}?",),
    }},
    "object": {"items": OBJECTS, "countable": True, "types": {
        "fact": ("What is {s} used for?", "What is {s} made of?", "Who invented {s}?", "Where can I find {s}?"),
        "definition": ("What is {s}?",),
        "why_how": ("How does {s} work?", "Why do people use {p}?", "How do you use {s}?"),
        "list": ("List three uses of {s}.",),
        "describe": ("Describe {s} in one sentence.", "Describe {s} to a child."),
        "creative": ("Write one sentence about {s}.", "Write a riddle about {s}."),
        "advise": ("How do I take care of {s}?",),
        "compare": ("What is the difference between {s} and {s2}?",),
    }},
    "science": {"items": SCIENCE, "countable": None, "types": {
        "fact": ("Tell me one fact about {t}.", "Tell me about {t}.", "Tell me a fun fact about {t}."),
        "definition": ("What is {t}?",),
        "why_how": ("Explain {t} in simple words.", "Why is {t} important?", "How does {t} affect our lives?",
                    "What would happen without {t}?"),
        "list": ("List three facts about {t}.",),
        "describe": ("Describe {t} to a child.", "Describe {t} in one sentence."),
        "creative": ("Write one sentence about {t}.", "Write a short poem about {t}."),
        "compare": ("What is the difference between {t} and {t2}?",),
    }},
    "activity": {"items": ACTIVITIES, "countable": None, "types": {
        "definition": ("What is {t}?",),
        "fact": ("Tell me one fact about {t}.",),
        "why_how": ("Why is {t} good for you?", "How do I start {t}?"),
        "list": ("What do I need for {t}?", "List three benefits of {t}."),
        "describe": ("Describe {t} in one sentence.",),
        "advise": ("Give me one tip for {t}.", "How can I get better at {t}?"),
        "compare": ("Which is more fun, {t} or {t2}?", "What is the difference between {t} and {t2}?"),
    }},
    "word": {"items": WORDS, "countable": None, "types": {
        "definition": ('What does the word "{t}" mean?', 'Define the word "{t}".', 'Explain the word "{t}" to a child.'),
        "creative": ('Use the word "{t}" in a sentence.', 'Write a sentence with the word "{t}".'),
        "fact": ('What is the opposite of "{t}"?', 'Give me a synonym for "{t}".'),
    }},
    "goal": {"items": GOALS, "countable": None, "types": {
        "advise": ("How can I {t}?", "Give me one tip to {t}.", "What is the best way to {t}?", "Give me two tips to {t}."),
        "why_how": ("Why should I {t}?",),
    }},
    "category": {"items": LIST_CATEGORIES, "countable": None, "types": {
        "list": ("List three {t}.", "Name three {t}.", "Give two examples of {t}.", "Name five {t}."),
    }},
    "question": {"items": WHY_HOW, "countable": None, "types": {"why_how": ("{t}", "{t} Explain briefly.")}},
    "greeting": {"items": GREETINGS, "countable": None, "types": {"greet": ("{t}",)}},
    "sentence": {"items": None, "countable": None, "types": {"rewrite": REWRITE_TEMPLATES}},
    "wikipedia": {"items": None, "countable": None, "types": {"fact": WIKI_TEMPLATES[:3], "describe": WIKI_TEMPLATES[3:4],
                                                            "why_how": WIKI_TEMPLATES[4:]}},
}
COMPARISONS_PER_TOPIC = 4
"""How many comparison partners (same kind) each topic gets, drawn by a seeded shuffle."""


PAIR = " / "
"""Joins the two topics of a comparison in its ``topic`` field."""


def topic_names(row: dict) -> list[str]:
    """The topic(s) a prompt row is about: one, or two for a comparison.

    >>> topic_names({"topic": "cat / dog"})
    ['cat', 'dog']
    """
    return row["topic"].split(PAIR)


def plural(noun: str) -> str:
    """English plural of a regular noun.

    >>> [plural(w) for w in ("cat", "fox", "city", "day", "bus")]
    ['cats', 'foxes', 'cities', 'days', 'buses']
    """
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def article(noun: str) -> str:
    """``noun`` with "a" or "an" (by its first letter; "hour"-style exceptions are not in the lists).

    >>> article("owl"), article("cat")
    ('an owl', 'a cat')
    """
    return ("an " if noun[0].lower() in "aeiou" else "a ") + noun


def _forms(entry: str, countable: bool | None) -> dict[str, str]:
    singular, _, given_plural = entry.partition("|")
    forms = {"t": singular, "n": singular, "p": given_plural or plural(singular)}
    forms["s"] = article(singular) if countable else singular
    many = forms["p"] != singular  # "apples are", but "rice is"
    forms.update(be="are" if many else "is", Be="Are" if many else "Is", do="do" if many else "does")
    return forms


def _wikipedia_titles() -> list[str]:
    """Titles of gensim's Wikipedia sample that read as a topic (no lists, disambiguation pages or one-letter titles)."""
    from .corpora import gensim_wikipedia_pages  # imported late (gensim is slow)

    titles = []
    for title, _ in gensim_wikipedia_pages():
        if len(title) < 3 or "(" in title or title.startswith(("List of", "Demographics", "Politics", "Economy",
                                                                 "Transport", "Foreign")):
            continue
        titles.append(title)
    return titles


COMPOSED_SENTENCES = 400
"""How many subject-action-time sentences (of the 1,008 combinations, seeded) join the written ones."""


def _sentences() -> list[str]:
    composed = [f"{s} {a} {t}." for s in SUBJECTS for a in ACTIONS for t in TIMES]
    return word_list(SENTENCES) + random.Random(0).sample(composed, COMPOSED_SENTENCES)


def _topics(kind: str) -> list[str]:
    if kind == "sentence":
        return _sentences()
    if kind == "wikipedia":
        return _wikipedia_titles()
    return word_list(TOPIC_KINDS[kind]["items"])


def teacher_prompts(seed: int = 0, *, kinds: Iterable[str] | None = None) -> list[dict[str, str]]:
    """Every teacher prompt: ``{"prompt", "type", "kind", "topic", "split"}`` rows, no duplicates.

    ``split`` is ``"test"`` for every question about a held-out topic (``TEST_FRACTION`` of each
    kind's topics, seeded) and ``"train"`` otherwise. The order is a seeded shuffle, so the first N
    rows are a random subset (a partial teacher run is still balanced).
    """
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    held_out: set[str] = set()  # test topics of every kind: a name held out in one kind is held out in all
    for kind in kinds or TOPIC_KINDS:
        spec = TOPIC_KINDS[kind]
        entries = _topics(kind)
        order = entries[:]
        rng.shuffle(order)
        held_out.update(_forms(e, spec["countable"])["t"] for e in order[: max(1, round(len(order) * TEST_FRACTION))])
        for entry in entries:
            forms = _forms(entry, spec["countable"])
            for qtype, templates in spec["types"].items():
                if qtype == "compare":
                    partners = [e for e in entries if e != entry]
                    for other in rng.sample(partners, min(COMPARISONS_PER_TOPIC, len(partners))):
                        second = {k + "2": v for k, v in _forms(other, spec["countable"]).items()}
                        rows.append({"prompt": rng.choice(templates).format(**forms, **second), "type": qtype,
                                     "kind": kind, "topic": f"{forms['t']}{PAIR}{second['t2']}"})
                    continue
                for template in templates:
                    rows.append({"prompt": template.format(**forms), "type": qtype, "kind": kind, "topic": forms["t"]})
    for row in rows:
        row["split"] = "test" if held_out & set(topic_names(row)) else "train"
    seen: set[str] = set()
    unique = []
    for row in rows:
        if row["prompt"] not in seen:
            seen.add(row["prompt"])
            unique.append(row)
    rng.shuffle(unique)
    return unique
