"""The topics of the teacher prompt set (:mod:`dlm_kit.teacher_prompts`), one list per kind.

Written for dlm-kit (no text copied from elsewhere): everyday animals, foods, countries, cities,
jobs, objects, science and nature ideas, activities, words, goals, list categories, why/how
questions, greetings, and the parts rewrite sentences are composed from. Each multi-line string
holds one topic per ``;``-separated entry (``word_list`` splits them); a ``|`` gives a noun's
plural where adding "s" would be wrong.

    >>> "elephant" in ANIMALS
    True
"""

from .english_prompts import WHY_QUESTIONS, word_list

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

# the open prompt set's why-questions (all but one), then how-questions of the teacher set
WHY_HOW = "; ".join(q for q in word_list(WHY_QUESTIONS) if q != "Why are bees important?") + """;
Why do we get hungry?; Why do we shiver?; Why does the sun rise in the east?; Why do clouds float?;
Why does it snow?; Why do we sweat?; How do birds fly?; How do fish breathe?; How do plants grow?;
How is rain made?; How do bees make honey?; How does the heart work?; How do we hear sounds?;
How do we see colors?; How are mountains made?; How does a seed become a tree?;
How do airplanes stay in the air?; How is paper made?; How is glass made?; How is cheese made?;
How do magnets work?; How does a rainbow form?; How do volcanoes form?;
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
