package daemon

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the daemon's Prometheus series, in a registry of its own.
type metrics struct {
	reg             *prometheus.Registry
	passes          *prometheus.CounterVec
	drift           prometheus.Counter
	fixes           *prometheus.CounterVec
	budgetExhausted prometheus.Counter
	reconciles      *prometheus.CounterVec
	passDuration    prometheus.Histogram
	unhealthy       prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "clockwork", Subsystem: "daemon", Name: "passes_total",
			Help: "Reconcile passes, by result (ok, config_error, failed, panic).",
		}, []string{"result"}),
		drift: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "clockwork", Subsystem: "daemon", Name: "drift_found_total",
			Help: "Times a resource was found unhealthy after being healthy or unknown.",
		}),
		fixes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "clockwork", Subsystem: "daemon", Name: "fixes_total",
			Help: "Fixes by kind: artifact (automatic artifact patch), cw (automatic .cw patch), proposal (.cw patch awaiting approval), runbook.",
		}, []string{"kind"}),
		budgetExhausted: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "clockwork", Subsystem: "daemon", Name: "budget_exhausted_total",
			Help: "Times a fix was refused because the resource's hourly fix budget was spent.",
		}),
		reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "clockwork", Subsystem: "daemon", Name: "reconciles_total",
			Help: "Resources re-applied with their unchanged steps, by result (ok, failed).",
		}, []string{"result"}),
		passDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "clockwork", Subsystem: "daemon", Name: "pass_duration_seconds",
			Help:    "Duration of reconcile passes.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
		}),
		unhealthy: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "clockwork", Subsystem: "daemon", Name: "unhealthy_resources",
			Help: "Resources observed unhealthy in the last pass.",
		}),
	}
	m.reg.MustRegister(m.passes, m.drift, m.fixes, m.budgetExhausted, m.reconciles, m.passDuration, m.unhealthy,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Every series exists from the start, so a scrape shows zeros rather
	// than nothing.
	for _, r := range []string{"ok", "config_error", "failed", "panic"} {
		m.passes.WithLabelValues(r)
	}
	for _, k := range []string{"artifact", "cw", "proposal", "runbook"} {
		m.fixes.WithLabelValues(k)
	}
	m.reconciles.WithLabelValues("ok")
	m.reconciles.WithLabelValues("failed")
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
