package docs

import "github.com/batchhost/batchhost/sdk"

// Version is the docs plugin's version.
const Version = "1.0.0"

// Plugin returns the docs plugin.
func Plugin() sdk.Plugin {
	return sdk.Plugin{
		Name:    "docs",
		Version: Version,
		Tasks: []sdk.Task{
			sdk.NewTask("inspect", `Reports {"path"}'s size, SHA-256, media type (sniffed from the content) and modification time`, utf8Safe(inspect)),
			sdk.NewTask("extract", `Extracts the plain text of {"path"}: .txt .md .html .csv .json .docx .odt .pdf`, utf8Safe(extract)),
			sdk.NewTask("analyze", `Counts the words, lines and characters of {"path"}'s text; top keywords, language guess, reading time`, utf8Safe(analyze)),
			sdk.NewTask("categorize", `Picks the category of {"path"} from keyword and regex {"rules"} (inline) or {"rules_file"}`, utf8Safe(categorize)),
			sdk.NewTask("organize", `Files {"path"} into {"dest"}/<category>/ by {"rules"}, copying or moving, never overwriting, idempotent on retry`, utf8Safe(organize)),
		},
	}
}
