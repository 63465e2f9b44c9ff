/* templates.h: the generated training sentences of the embedded toxicity
 * model v2 (identity groups x hateful / neutral / counter-speech / negated
 * frames, and harmless sentences that share the hateful words). Written by
 * hand for evalua, in the spirit of HateCheck's functional tests; not taken
 * from any data set. The functional test suite (tests/data/toxicity/
 * functional.tsv) uses other frames and predicates, so it is not a copy of
 * these. Included by train.c only. */

static const char *const tpl_groups[] = {
    "Muslims", "Jews", "black people", "immigrants", "women", "gay people", "Mexicans",
    "Arabs", "Asians", "refugees", "trans people", "Africans", "Christians", "Indians",
    "foreigners", "disabled people", "Roma", "Hindus", "Pakistanis", "Chinese people",
    "lesbians", "migrants", "Latinos", "Somalis", "Syrians", "gays", "blacks",
    "Jewish people", "Muslim women", "black women", "asylum seekers", "travellers",
    "indigenous people", "Hispanics", "Sikhs", "homosexuals", "Nigerians", "gay men",
    "transgender people", "Arab men"};

/* hateful predicates: dehumanising, inferiority, exclusion, threats */
static const char *const tpl_hate_pred[] = {
    "are animals", "are vermin", "are rats", "are cockroaches", "are parasites",
    "are a disease", "are a virus", "are subhuman", "are savages", "are apes", "are filth",
    "are scum", "are trash", "are a plague", "are not human", "are a cancer on society",
    "are nothing but dogs", "are inferior to us", "are too stupid to think",
    "are worthless", "are a lower form of life", "are less intelligent than us",
    "are genetically inferior", "are born criminals", "are all terrorists",
    "are all rapists", "are all thieves", "are ruining this country",
    "are destroying our culture", "are invading our land", "are a burden on society",
    "are disgusting", "are evil", "are a threat to our children", "are mentally ill",
    "should be killed", "should be shot", "should be hanged", "should be gassed",
    "should be exterminated", "should be wiped out", "deserve to die",
    "need to be eradicated", "must be deported", "should be locked up", "should burn",
    "should not be allowed to vote", "should not have any rights",
    "do not belong in this country", "don't deserve to live", "can never be trusted",
    "should go back where they came from", "should be sterilised",
    "should be banned from our country", "have no place in a civilised society",
    "make me sick", "are the worst people on earth", "will always be inferior",
    "are a pest", "multiply like rats", "are dirty", "ruin everything they touch"};

/* whole-sentence hateful frames: %s is the group */
static const char *const tpl_hate_frame[] = {
    "I hate %s.", "I despise %s.", "I want to kill all %s.", "Death to %s.",
    "Kick all %s out of the country.", "We should get rid of %s.", "Never trust %s.",
    "I would never hire %s.", "No %s allowed here.", "%s should all be put down.",
    "I can't stand %s, they are disgusting.", "The world would be better without %s.",
    "Someone should shoot all %s.", "%s are a waste of oxygen.",
    "Let's burn down the homes of %s.", "I don't want %s anywhere near me.",
    "%s will never be equal to us.", "Round up the %s and ship them out.",
    "Typical %s, always causing trouble.", "You can't trust %s with anything.",
    "I'd rather die than live next to %s.", "%s are the reason this country is failing.",
    "Get these %s out of our neighbourhood.", "%s ruin every place they move to.",
    "If you're one of those %s, you're worthless."};

/* frames around a predicate: %s group, %s predicate */
static const char *const tpl_hate_wrap[] = {
    "%s %s.", "All %s %s.", "I think %s %s.", "Honestly, %s %s.", "Everyone knows %s %s.",
    "%s %s, and that is a fact.", "Let's be real: %s %s.", "The truth is that %s %s.",
    "It's obvious that %s %s.", "I'm sure %s %s."};

static const char *const tpl_neutral_pred[] = {
    "are our neighbours", "deserve equal rights", "live in many countries",
    "have a rich history", "are welcome here", "work in every profession",
    "often face discrimination", "are people like everyone else",
    "contribute to our society", "celebrate their holidays with family",
    "should be treated with respect", "have the same rights as everyone",
    "are protected by law", "are part of our community", "enrich our culture",
    "are as smart as anyone", "deserve to live in peace", "should be safe",
    "are doctors, teachers and engineers", "have the right to vote",
    "belong in this country", "are human beings", "should not face hate",
    "are valued members of our team", "can be anything they want to be"};

static const char *const tpl_neutral_frame[] = {
    "I love %s.", "My best friend is one of the %s in our town.",
    "We invited %s from the community centre to speak.", "Many %s live in this city.",
    "The report looks at how %s are treated at work.", "I have a lot of respect for %s.",
    "The museum has an exhibition about the history of %s.",
    "Our school welcomes %s and everyone else.", "Are there many %s in your area?",
    "The survey asked %s about their experience.", "%s have made huge contributions to science.",
    "I grew up with %s and they were kind to me."};

/* counter-speech: a hateful predicate quoted or reported, then rejected */
static const char *const tpl_counter_wrap[] = {
    "Saying that %s %s is hateful and wrong.",
    "It is never okay to say \"%s %s\".",
    "People who claim %s %s are spreading hate.",
    "I'm tired of hearing that %s %s.",
    "Stop saying %s %s, it's bigotry.",
    "When someone says \"%s %s\", call it out.",
    "The idea that %s %s is a dangerous lie.",
    "He wrote \"%s %s\" and was rightly banned.",
    "Claiming that %s %s is racist nonsense.",
    "My uncle says %s %s, and I told him that is hateful.",
    "Posts saying \"%s %s\" should be reported.",
    "It's disgusting that people still believe %s %s."};

static const char *const tpl_counter_frame[] = {
    "If you hate %s, you are the problem.", "Hating %s is wrong.",
    "There is no excuse for attacking %s.", "Hate against %s has no place here.",
    "We must stand up for %s when they are insulted.",
    "I reported the account that was threatening %s.",
    "Calling %s animals is dehumanising and unacceptable.",
    "Violence against %s must stop."};

/* negated hate: the frame denies the hateful predicate (non-toxic) */
static const char *const tpl_negated_wrap[] = {
    "I don't think %s %s.", "It is not true that %s %s.", "Nobody should say %s %s.",
    "No, it's false that %s %s.", "I would never say that %s %s.",
    "There is no evidence that %s %s."};

/* harmless subjects that take the hateful predicates literally */
static const char *const tpl_nonhuman[] = {
    "Rats", "Cockroaches", "Mosquitoes", "Weeds", "These bugs in the code", "Ticks",
    "Termites", "Stale processes", "Zombie processes", "The weeds in my garden",
    "Invasive plants", "Bacteria on the counter"};
static const char *const tpl_nonhuman_pred[] = {
    "are vermin", "are pests", "should be exterminated", "need to be eradicated",
    "should be killed", "are a plague", "are disgusting", "are parasites",
    "multiply like crazy", "must be wiped out", "spread disease", "should be removed"};
