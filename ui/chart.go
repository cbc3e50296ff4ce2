package ui

import (
	"math"
	"strconv"
	"strings"
)

// Charts are server-rendered SVG: a series of daily values drawn as bars
// or as a line, sized by a viewBox so that they scale with the page, with
// a title and a description in words for screen readers and a table
// beside them for those who want the numbers.

// chart is one series, oldest first, as a page draws it.
type chart struct {
	// Title names the chart; Summary says what it shows in words.
	Title, Summary string
	Width, Height  int
	// Bars are drawn for a bar chart, Line for a line chart.
	Bars []chartBar
	Line string // the polyline's points, "x,y x,y"
	// Dots mark the line's points, each with its title.
	Dots []chartBar
	// Low and High label the value axis; First and Last the time axis.
	Low, High, First, Last string
}

// chartBar is a bar (or a dot) with its title in words; Class colours it.
type chartBar struct {
	X, Y, W, H int
	Class      string
	Title      string
}

// chartPoint is one value of a series, with its label ("2026-11-03").
type chartPoint struct {
	Label string
	Value float64
	// Part is a share of Value drawn over it in Class "part" (failed
	// checks of all results); 0 for none.
	Part float64
}

const (
	chartWidth  = 600
	chartHeight = 120
	chartPad    = 4
)

// newBarChart draws points as bars, each a part of it in a second colour;
// format says a value in words.
func newBarChart(title, summary string, points []chartPoint, format func(chartPoint) string) chart {
	c := chart{Title: title, Summary: summary, Width: chartWidth, Height: chartHeight}
	if len(points) == 0 {
		return c
	}
	hi := 0.0
	for _, p := range points {
		hi = max(hi, p.Value)
	}
	step := float64(chartWidth) / float64(len(points))
	w := max(int(step*0.8), 1)
	for i, p := range points {
		x := int(float64(i) * step)
		h := scale(p.Value, 0, hi)
		c.Bars = append(c.Bars, chartBar{X: x, Y: chartHeight - h, W: w, H: h, Class: "bar", Title: p.Label + ": " + format(p)})
		if p.Part > 0 {
			ph := scale(p.Part, 0, hi)
			c.Bars = append(c.Bars, chartBar{X: x, Y: chartHeight - ph, W: w, H: ph, Class: "bar part", Title: p.Label + ": " + format(p)})
		}
	}
	c.Low, c.High = "0", trimZero(hi)
	c.First, c.Last = points[0].Label, points[len(points)-1].Label
	return c
}

// newLineChart draws points as a line; format says a value in words.
func newLineChart(title, summary string, points []chartPoint, format func(float64) string) chart {
	c := chart{Title: title, Summary: summary, Width: chartWidth, Height: chartHeight}
	if len(points) == 0 {
		return c
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range points {
		lo, hi = min(lo, p.Value), max(hi, p.Value)
	}
	if lo > 0 && hi > lo && lo < hi/2 {
		lo = 0
	}
	step := float64(chartWidth-2*chartPad) / float64(max(len(points)-1, 1))
	var b strings.Builder
	for i, p := range points {
		x := chartPad + int(math.Round(float64(i)*step))
		y := chartHeight - chartPad - scaleIn(p.Value, lo, hi, chartHeight-2*chartPad)
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(x) + "," + strconv.Itoa(y))
		c.Dots = append(c.Dots, chartBar{X: x, Y: y, W: 3, Class: "dot", Title: p.Label + ": " + format(p.Value)})
	}
	c.Line = b.String()
	c.Low, c.High = format(lo), format(hi)
	c.First, c.Last = points[0].Label, points[len(points)-1].Label
	return c
}

// scale is v's height in the chart, 1 pixel at least for a value above
// lo.
func scale(v, lo, hi float64) int { return scaleIn(v, lo, hi, chartHeight) }

func scaleIn(v, lo, hi float64, height int) int {
	if hi <= lo {
		if v > lo {
			return height
		}
		return 0
	}
	h := int(math.Round((v - lo) / (hi - lo) * float64(height)))
	if h == 0 && v > lo {
		h = 1
	}
	return h
}
