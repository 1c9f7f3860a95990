package dutyofcare

import "fmt"

// BuiltinVersion versions the built-in phrases: change it with every change to builtin, so
// that an escalation names the list that raised it.
const BuiltinVersion = "2026-12.1"

// Categories of signal; a phrase's ID is "<language>.<category>.<n>".
const (
	SelfExclusion  = "self-exclusion"
	Addiction      = "addiction"
	CannotStop     = "cannot-stop"
	LostEverything = "lost-everything"
	SelfHarm       = "self-harm"
)

// builtin holds, per language and category, phrases written as players write them; accents
// and case do not matter. "Can't stop" alone is not a signal ("I can't stop laughing"):
// the phrases name the playing.
var builtin = map[string]map[string][]string{
	"en": {
		SelfExclusion:  {"self exclu*", "selfexclu*", "exclude myself", "exclude me from", "take a break from gambling"},
		Addiction:      {"addicted", "addiction", "gambling problem", "problem gambl*", "compulsive gambl*"},
		CannotStop:     {"can't stop gambl*", "can't stop playing", "can't stop betting", "cannot stop gambl*", "cannot stop playing", "cannot stop betting", "can not stop playing", "unable to stop gambl*"},
		LostEverything: {"lost everything", "lost all my money", "lost all my savings", "lost my savings"},
		SelfHarm:       {"kill myself", "end my life", "suicid*", "want to die", "hurt myself", "take my own life"},
	},
	"ro": {
		SelfExclusion:  {"autoexclu*", "auto exclu*", "excludeti ma", "excludeți-mă"},
		Addiction:      {"dependen* de joc*", "dependen* de pariuri", "dependen* de cazino", "sunt dependent*"},
		CannotStop:     {"nu mă pot opri din joc*", "nu mă pot opri din pariat", "nu pot să mă opresc din joc*", "nu pot să nu joc", "nu mă pot abține să joc"},
		LostEverything: {"am pierdut tot", "am pierdut toți banii", "am pierdut toate economiile"},
		SelfHarm:       {"sinucid*", "vreau să mor", "să îmi iau viața", "să-mi iau viața", "să-mi pun capăt zilelor"},
	},
	"ru": {
		SelfExclusion:  {"самоисключ*", "самоограничени*", "заблокируйте меня", "исключите меня"},
		Addiction:      {"игров* зависим*", "я зависим*", "у меня зависимость", "зависимость от игр*", "зависимость от ставок", "лудоман*", "игроман*"},
		CannotStop:     {"не могу перестать играть", "не могу бросить играть", "не могу бросить игр*", "не могу остановиться играть", "не могу перестать делать ставки"},
		LostEverything: {"проигр* всё", "потерял* всё", "проигр* все деньги", "проигр* все сбережения"},
		SelfHarm:       {"покончить с собой", "покончу с собой", "суицид*", "хочу умереть", "убью себя", "убить себя", "не хочу жить"},
	},
	"sv": {
		SelfExclusion:  {"självavstäng*", "spelpaus", "stäng av mig", "stänga av mig"},
		Addiction:      {"spelberoend*", "beroende av spel*", "jag är beroende", "spelmissbruk*"},
		CannotStop:     {"kan inte sluta spela", "kan inte sluta att spela", "kan inte sluta satsa"},
		LostEverything: {"förlorat allt", "förlorade allt", "förlorat alla mina pengar", "förlorat alla pengar"},
		SelfHarm:       {"ta livet av mig", "vill dö", "självmord*", "skada mig själv"},
	},
	"de": {
		SelfExclusion:  {"selbstsperr*", "selbstausschl*", "spielsperr*", "sperren sie mich"},
		Addiction:      {"spielsucht*", "spielsüchtig*", "bin süchtig", "süchtig nach"},
		CannotStop:     {"kann nicht aufhören zu spielen", "kann nicht aufhören zu zocken", "kann nicht mit dem spielen aufhören", "komme vom spielen nicht los"},
		LostEverything: {"alles verloren", "mein ganzes geld verloren", "all mein geld verloren"},
		SelfHarm:       {"mich umbringen", "selbstmord*", "suizid*", "will sterben", "will nicht mehr leben", "mir das leben nehmen"},
	},
	"es": {
		SelfExclusion:  {"autoexclu*", "auto exclu*", "excluirme", "exclúyanme"},
		Addiction:      {"adicto", "adicta", "adicción", "ludopat*"},
		CannotStop:     {"no puedo dejar de jugar", "no puedo parar de jugar", "no puedo dejar de apostar", "no puedo parar de apostar"},
		LostEverything: {"lo perdí todo", "perdí todo", "he perdido todo"},
		SelfHarm:       {"suicid*", "quitarme la vida", "matarme", "quiero morir", "no quiero vivir"},
	},
	"pt": {
		SelfExclusion:  {"autoexclu*", "auto exclu*", "me excluir"},
		Addiction:      {"viciad*", "vício em jog*", "vício no jog*", "vício em aposta*", "ludopat*"},
		CannotStop:     {"não consigo parar de jogar", "não consigo parar de apostar", "não consigo deixar de jogar"},
		LostEverything: {"perdi tudo", "perdi todo o meu dinheiro", "perdi todo meu dinheiro"},
		SelfHarm:       {"me matar", "suicid*", "tirar minha vida", "tirar a minha vida", "quero morrer"},
	},
	"it": {
		SelfExclusion:  {"autoesclu*", "auto esclu*", "escludetemi", "escludermi"},
		Addiction:      {"dipenden* dal gioco", "dipenden* da gioco", "sono dipendente", "ludopat*"},
		CannotStop:     {"non riesco a smettere di giocare", "non riesco a smettere di scommettere", "non riesco a smettere con il gioco"},
		LostEverything: {"ho perso tutto", "perso tutti i miei soldi", "perso tutti i soldi"},
		SelfHarm:       {"uccidermi", "suicid*", "togliermi la vita", "voglio morire", "farla finita"},
	},
	"fr": {
		SelfExclusion:  {"autoexclu*", "auto exclu*", "interdiction de jeu*", "interdit de jeu*", "excluez moi"},
		Addiction:      {"accro au* jeu*", "je suis accro", "addiction", "dépendan* au* jeu*"},
		CannotStop:     {"pas à arrêter de jouer", "pas arrêter de jouer", "plus arrêter de jouer", "plus à arrêter de jouer", "impossible d'arrêter de jouer", "pas à arrêter de parier"},
		LostEverything: {"j'ai tout perdu", "perdu tout mon argent"},
		SelfHarm:       {"me suicider", "suicid*", "me tuer", "mettre fin à mes jours", "envie de mourir"},
	},
	"tr": {
		SelfExclusion:  {"kendimi hariç tut*", "kendini dışlama", "kendimi dışla*", "oyun yasağı"},
		Addiction:      {"bağımlı*", "kumar bağımlı*"},
		CannotStop:     {"oynamayı bırakamıyorum", "kumarı bırakamıyorum", "bahsi bırakamıyorum", "kendimi durduramıyorum"},
		LostEverything: {"her şeyimi kaybettim", "her şeyi kaybettim", "tüm paramı kaybettim", "bütün paramı kaybettim"},
		SelfHarm:       {"intihar*", "kendimi öldür*", "ölmek istiyorum", "canıma kıyacağım"},
	},
}

// Languages are the languages of the built-in list.
var Languages = []string{"en", "ro", "ru", "sv", "de", "es", "pt", "it", "fr", "tr"}

// Builtin returns the built-in list, phrases in a stable order.
func Builtin() List {
	list := List{Version: BuiltinVersion}
	for _, lang := range Languages {
		for _, cat := range []string{SelfExclusion, Addiction, CannotStop, LostEverything, SelfHarm} {
			for i, text := range builtin[lang][cat] {
				list.Phrases = append(list.Phrases, Phrase{ID: fmt.Sprintf("%s.%s.%d", lang, cat, i+1), Language: lang, Text: text})
			}
		}
	}
	return list
}
