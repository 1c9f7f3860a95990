package telegramfake

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// upload is a file part of a multipart request.
type upload struct {
	name string
	data []byte
}

// request holds a call's parameters from the query string, a form, JSON or multipart, as the
// real server accepts all four.
type request struct {
	values map[string]string
	files  map[string]upload
}

func (r request) get(k string) string { return r.values[k] }

func params(r *http.Request) (request, error) {
	req := request{values: map[string]string{}, files: map[string]upload{}}
	for k, v := range r.URL.Query() {
		req.values[k] = v[0]
	}
	if r.Method != http.MethodPost {
		return req, nil
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			return req, fmt.Errorf("can't parse JSON: %v", err)
		}
		for k, v := range m {
			if s, ok := v.(string); ok {
				req.values[k] = s
			} else {
				b, _ := json.Marshal(v)
				req.values[k] = string(b)
			}
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(64 << 20); err != nil {
			return req, fmt.Errorf("can't parse multipart: %v", err)
		}
		for k, v := range r.MultipartForm.Value {
			req.values[k] = v[0]
		}
		for k, fhs := range r.MultipartForm.File {
			f, err := fhs[0].Open()
			if err != nil {
				return req, err
			}
			data, err := io.ReadAll(f)
			f.Close()
			if err != nil {
				return req, err
			}
			req.files[k] = upload{name: fhs[0].Filename, data: data}
		}
	default:
		if err := r.ParseForm(); err != nil {
			return req, fmt.Errorf("can't parse form: %v", err)
		}
		for k, v := range r.PostForm {
			req.values[k] = strings.Join(v, ",")
		}
	}
	return req, nil
}
