package parse

import "strings"

// unflow joins the soft line breaks of format=flowed text (RFC 3676), as Apple Mail and
// Thunderbird send it: a line ending in a space continues on the next line of the same quote
// depth. Without it a paragraph arrives cut into 72-character lines. Quoted lines come out
// with one "> " per level, the way quote stripping reads them.
func unflow(s string, delsp bool) string {
	var out []string
	var cur strings.Builder
	curDepth, open := 0, false
	flush := func() {
		if open {
			line := quotePrefix(curDepth) + cur.String()
			if cur.Len() == 0 {
				line = strings.TrimRight(line, " ")
			}
			out = append(out, line)
			cur.Reset()
			open = false
		}
	}
	for _, line := range strings.Split(s, "\n") {
		depth := 0
		for depth < len(line) && line[depth] == '>' {
			depth++
		}
		line = line[depth:]
		line = strings.TrimPrefix(line, " ") // space-stuffing
		if open && depth != curDepth {
			flush()
		}
		soft := strings.HasSuffix(line, " ") && line != "-- "
		if soft && delsp {
			line = line[:len(line)-1]
		}
		cur.WriteString(line)
		curDepth, open = depth, true
		if !soft {
			flush()
		}
	}
	flush()
	return strings.Join(out, "\n")
}

func quotePrefix(depth int) string {
	if depth == 0 {
		return ""
	}
	return strings.Repeat(">", depth) + " "
}
