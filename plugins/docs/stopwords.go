package docs

import "strings"

// Languages analyze can tell apart, by their commonest function words.
// The lists are short on purpose: the words that make up a large share of
// any running text in the language, which is what the guess counts.
var stopwords = map[string]map[string]bool{
	"en": set(`a about after all also an and any are as at be because been but by can could did do does
		for from had has have he her him his how i if in into is it its just like me more most my no not
		now of on one only or other our out over said she so some such than that the their them then there
		these they this those through to too under up us very was we were what when where which while who
		why will with would you your`),
	"de": set(`aber alle als also am an auch auf aus bei bin bis bist da damit dann das dass dein dem den
		denn der des dich die dies diese dieser dir doch dort du durch ein eine einem einen einer eines er
		es etwa für hat hatte hier ich ihm ihn ihr im in ist ja jetzt kann kein keine man mein mich mir mit
		muss nach nicht noch nun nur ob oder ohne schon sehr sein sich sie sind so über um und uns unter
		vom von vor war waren was weil wenn werden wie wir wird wo zu zum zur zwischen`),
	"fr": set(`à ai au aussi aux avec avoir c ce cela ces cet cette comme d dans de des donc du elle elles
		en est et été être eu il ils j je l la le les leur leurs lui m ma mais me même mes moi mon n ne nos
		notre nous on ont ou où par pas peu plus pour qu quand que qui s sa sans se ses si son sont sur ta
		te tes toi ton tous tout très tu un une vos votre vous y`),
	"es": set(`a al algo algunos ante antes como con contra cual cuando de del desde donde durante e el
		ella ellas ellos en entre era es esa ese eso esta está están este esto estos fue ha hay han la las
		le les lo los más me mi mis muy nada ni no nos o otra otro para pero poco por porque que quien se
		ser si sí sin sobre son su sus también tan te tiene todo todos tu un una uno unos y ya yo`),
}

// languages fixes the order in which ties are broken.
var languages = []string{"en", "de", "fr", "es"}

// stopwordLangs maps every stop word to the languages it belongs to, a
// bit per entry of languages, so that one lookup serves them all.
// Keywords leave out every language's stop words, whatever the document's
// language, since documents mix languages.
var stopwordLangs = func() map[string]uint8 {
	all := map[string]uint8{}
	for i, lang := range languages {
		for w := range stopwords[lang] {
			all[w] |= 1 << i
		}
	}
	return all
}()

func set(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}
