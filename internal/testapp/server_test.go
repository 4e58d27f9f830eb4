package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestHandler(t *testing.T) {
	metadata := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTeapot)
		fmt.Fprintf(w, `{"path":%q}`, r.URL.Path)
	}))
	defer metadata.Close()
	withMetadata := func() []string {
		return []string{"A=1", "B=x=y", "ECS_CONTAINER_METADATA_URI_V4=" + metadata.URL + "/v4/abc"}
	}
	noMetadata := func() []string { return []string{"EMPTY="} }

	tests := []struct {
		name           string
		method         string
		target         string
		age            time.Duration // since start
		unhealthyAfter time.Duration
		environ        func() []string
		wantStatus     int
		wantBody       string
		wantType       string
	}{
		{name: "Root", target: "/", wantStatus: 200, wantBody: "ok box\n"},
		{name: "RootPost", method: http.MethodPost, target: "/", wantStatus: 405},
		{name: "Unknown", target: "/nope", wantStatus: 404},
		{name: "Env", target: "/env", environ: withMetadata, wantStatus: 200, wantType: "application/json",
			wantBody: `{"A":"1","B":"x=y","ECS_CONTAINER_METADATA_URI_V4":"` + metadata.URL + `/v4/abc"}` + "\n"},
		{name: "EnvEmptyValue", target: "/env", environ: noMetadata, wantStatus: 200, wantBody: `{"EMPTY":""}` + "\n"},
		{name: "Healthy", target: "/health", wantStatus: 200, wantBody: "healthy\n"},
		{name: "HealthyBeforeDeadline", target: "/health", age: time.Second, unhealthyAfter: time.Hour, wantStatus: 200},
		{name: "UnhealthyAfter", target: "/health", age: 5 * time.Second, unhealthyAfter: 3 * time.Second, wantStatus: 500, wantBody: "unhealthy\n"},
		{name: "Sleep", target: "/sleep?d=1ms", wantStatus: 200, wantBody: "slept 1ms\n"},
		{name: "SleepBadDuration", target: "/sleep?d=soon", wantStatus: 400},
		{name: "Metadata", target: "/metadata?path=/task", environ: withMetadata, wantStatus: 418,
			wantBody: `{"path":"/v4/abc/task"}`, wantType: "application/json"},
		{name: "MetadataUnset", target: "/metadata?path=/task", environ: noMetadata, wantStatus: 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			environ := tt.environ
			if environ == nil {
				environ = noMetadata
			}
			h := newHandler("box", time.Now().Add(-tt.age), tt.unhealthyAfter, environ, metadata.Client())
			rec := httptest.NewRecorder()
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			h.ServeHTTP(rec, httptest.NewRequest(method, tt.target, nil))
			body, _ := io.ReadAll(rec.Body)
			if rec.Code != tt.wantStatus || (tt.wantBody != "" && string(body) != tt.wantBody) {
				t.Errorf("%s %s = %d %q; want %d %q", method, tt.target, rec.Code, body, tt.wantStatus, tt.wantBody)
			}
			if tt.wantType != "" && rec.Header().Get("Content-Type") != tt.wantType {
				t.Errorf("%s %s Content-Type = %q; want %q", method, tt.target, rec.Header().Get("Content-Type"), tt.wantType)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
		case "/hang":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		default:
			http.Error(w, "bad", http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	defer close(release)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	tests := []struct {
		name string
		url  string
		want int
	}{
		{"OK", srv.URL + "/ok", 0},
		{"ServerError", srv.URL + "/bad", 1},
		{"Timeout", srv.URL + "/hang", 1},
		{"Refused", closed.URL + "/ok", 1},
		{"BadURL", "::nope", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := check(tt.url, 200*time.Millisecond, io.Discard); got != tt.want {
				t.Errorf("check(%s) = %d; want %d", tt.url, got, tt.want)
			}
		})
	}
}
