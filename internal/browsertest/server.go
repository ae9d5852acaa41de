package browsertest

import (
	"context"
	"io"
	"net"
	"net/http"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"
)

// Gateway serves functions as the OpenFaaS gateway does, at
// /function/<name> (and /function/<name>/…), each through its Handle the way
// the golang-http template calls it: query string and body, no path.
type Gateway struct {
	URL    string // http://127.0.0.1:<port>
	server *http.Server
}

// Serve listens on a free 127.0.0.1 port.
func Serve(fns map[string]func(handler.Request) handler.Response) (*Gateway, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	for name, fn := range fns {
		h := adapt(fn)
		mux.Handle("/function/"+name, h)
		mux.Handle("/function/"+name+"/", h)
	}
	g := &Gateway{URL: "http://" + ln.Addr().String(), server: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go g.server.Serve(ln)
	return g, nil
}

// Close stops the server.
func (g *Gateway) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return g.server.Shutdown(ctx)
}

func adapt(fn func(handler.Request) handler.Response) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		req := handler.Request{Body: body, Header: r.Header, Method: r.Method, QueryString: r.URL.RawQuery, Host: r.Host}
		req.WithContext(r.Context())
		res := fn(req)
		for k, vs := range res.Header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		if res.StatusCode == 0 {
			res.StatusCode = http.StatusOK
		}
		w.WriteHeader(res.StatusCode)
		if r.Method != http.MethodHead {
			_, _ = w.Write(res.Body)
		}
	})
}
