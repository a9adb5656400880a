package wire

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// WriteJSON sends v as the JSON body with the given status, followed by a
// newline. The objects of this package write their own JSON (see
// jsonAppender); anything else goes through encoding/json, without HTML
// escaping. A value encoding/json cannot encode is answered with a 500
// and the generic error envelope.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	var body []byte
	if a, ok := v.(jsonAppender); ok {
		body = append(a.appendJSON(make([]byte, 0, 512)), '\n')
	} else {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			status = http.StatusInternalServerError
			buf.Reset()
			buf.WriteString(`{"error":{"code":"E0000","message":"An unexpected error occurred","doc_url":"` + DefaultDocURL + `"}}`)
		}
		body = buf.Bytes()
	}
	h := w.Header()
	h["Content-Type"] = contentTypeJSON
	w.WriteHeader(status)
	w.Write(body)
}

var contentTypeJSON = []string{"application/json; charset=utf-8"}
