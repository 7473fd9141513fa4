package normalize

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Date and time recognition as dlt does it: dlt's parse_iso_like_datetime
// tries pendulum's ISO 8601 parser, then pendulum's "common" format
// (YYYY[/:]MM[/:]DD[ ]hh:mm[:ss][.f]). A string is a timestamp when it
// parses to a date with a time; naive times are UTC. ISO week dates
// (2024-W05-2) and ordinal dates (2024-035) are not recognized.

type parsedKind uint8

const (
	parsedNone parsedKind = iota
	parsedDate
	parsedDateTime
)

// isISOTimestamp is dlt's iso_timestamp type detection.
func isISOTimestamp(s string) bool {
	_, k := parseISOLike(s)
	return k == parsedDateTime
}

// parseISOLike parses a date or a date with a time; the time is UTC.
func parseISOLike(s string) (time.Time, parsedKind) {
	if s == "" {
		return time.Time{}, parsedNone
	}
	if t, k, ok := parseISO8601(s); ok {
		return t, k
	}
	if t, k, ok := parseCommon(s); ok {
		return t, k
	}
	return time.Time{}, parsedNone
}

// textToTimestamp is how dlt coerces text into a timestamp column: a date
// with a time, a date (midnight UTC), else a number of seconds since epoch.
func textToTimestamp(s string) (time.Time, bool) {
	if t, k := parseISOLike(s); k != parsedNone {
		return t, true
	}
	f, err := strconv.ParseFloat(strings.TrimFunc(s, pySpace), 64)
	if err != nil {
		return time.Time{}, false
	}
	return fromUnixSeconds(f)
}

// Python datetime's range (years 1 to 9999).
const (
	minUnix = -62135596800
	maxUnix = 253402300799
)

func fromUnixSeconds(f float64) (time.Time, bool) {
	if math.IsNaN(f) || f < minUnix || f >= maxUnix+1 {
		return time.Time{}, false
	}
	return time.UnixMicro(int64(math.RoundToEven(f * 1e6))).UTC(), true
}

func fromUnixInt(i int64) (time.Time, bool) {
	if i < minUnix || i > maxUnix {
		return time.Time{}, false
	}
	return time.Unix(i, 0).UTC(), true
}

// isoParser walks a string the way pendulum's parser does.
type isoParser struct {
	s string
	i int
}

func (p *isoParser) end() bool { return p.i >= len(p.s) }

func (p *isoParser) cur() byte {
	if p.end() {
		return 0
	}
	return p.s[p.i]
}

// digits reads exactly n ASCII digits.
func (p *isoParser) digits(n int) (int, bool) {
	v := 0
	for k := 0; k < n; k++ {
		c := p.cur()
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
		p.i++
	}
	return v, true
}

// parseISO8601 follows pendulum's ISO 8601 parser for calendar dates with
// an optional time and offset; ok is false where pendulum raises.
func parseISO8601(s string) (time.Time, parsedKind, bool) {
	p := isoParser{s: s}
	year, ok := p.digits(2)
	if !ok || p.cur() == ':' { // "hh:mm" is a time without a date
		return time.Time{}, parsedNone, false
	}
	lo, ok := p.digits(2)
	if !ok {
		return time.Time{}, parsedNone, false
	}
	year = year*100 + lo
	month, day := 1, 1
	extended := false
	switch c := p.cur(); {
	case c == '-':
		p.i++
		extended = true
		if p.cur() == 'W' {
			return time.Time{}, parsedNone, false
		}
		if month, ok = p.digits(2); !ok {
			return time.Time{}, parsedNone, false
		}
		if !p.end() && p.cur() != ' ' && p.cur() != 'T' {
			if p.cur() != '-' { // ordinal date
				return time.Time{}, parsedNone, false
			}
			p.i++
			if day, ok = p.digits(2); !ok {
				return time.Time{}, parsedNone, false
			}
		}
	case c == 'W':
		return time.Time{}, parsedNone, false
	default:
		if month, ok = p.digits(2); !ok {
			return time.Time{}, parsedNone, false
		}
		d1, ok := p.digits(1)
		if !ok || p.end() || p.cur() == ' ' || p.cur() == 'T' { // ordinal date
			return time.Time{}, parsedNone, false
		}
		d2, ok := p.digits(1)
		if !ok {
			return time.Time{}, parsedNone, false
		}
		day = d1*10 + d2
	}
	if p.end() {
		t, ok := makeTime(year, month, day, 0, 0, 0, 0, 0, false)
		return t, parsedDate, ok
	}

	// Time: "T" or " ", then hh[:mm[:ss[.f]]] or hh[mm[ss[.f]]].
	if c := p.cur(); c != 'T' && c != ' ' {
		return time.Time{}, parsedNone, false
	}
	p.i++
	hour, ok := p.digits(2)
	if !ok {
		return time.Time{}, parsedNone, false
	}
	minute, second, micro := 0, 0, 0
	atZone := func() bool { c := p.cur(); return p.end() || c == 'Z' || c == '+' || c == '-' }
	if !atZone() {
		if p.cur() == ':' {
			p.i++
			if minute, ok = p.digits(2); !ok {
				return time.Time{}, parsedNone, false
			}
			if !atZone() {
				if p.cur() != ':' {
					return time.Time{}, parsedNone, false
				}
				p.i++
				if second, ok = p.digits(2); !ok {
					return time.Time{}, parsedNone, false
				}
				if micro, ok = p.fraction(); !ok || !extended {
					return time.Time{}, parsedNone, false
				}
			}
		} else {
			if minute, ok = p.digits(2); !ok {
				return time.Time{}, parsedNone, false
			}
			if !atZone() {
				if second, ok = p.digits(2); !ok {
					return time.Time{}, parsedNone, false
				}
				if micro, ok = p.fraction(); !ok {
					return time.Time{}, parsedNone, false
				}
			}
			if extended {
				return time.Time{}, parsedNone, false
			}
		}
	}
	offset, hasOffset := 0, false
	switch p.cur() {
	case 'Z':
		p.i++
		hasOffset = true
	case '+', '-':
		sign := 1
		if p.cur() == '-' {
			sign = -1
		}
		p.i++
		h, ok := p.digits(2)
		if !ok {
			return time.Time{}, parsedNone, false
		}
		if p.cur() == ':' {
			p.i++
		}
		m := 0
		if !p.end() {
			if m, ok = p.digits(2); !ok {
				return time.Time{}, parsedNone, false
			}
		}
		offset, hasOffset = sign*(h*60+m)*60, true
		if offset >= 24*3600 || offset <= -24*3600 {
			return time.Time{}, parsedNone, false
		}
	}
	if !p.end() {
		return time.Time{}, parsedNone, false
	}
	t, ok := makeTime(year, month, day, hour, minute, second, micro, offset, hasOffset)
	return t, parsedDateTime, ok
}

// fraction reads an optional ".f" or ",f": at least one digit, the first
// six kept as microseconds, the rest dropped.
func (p *isoParser) fraction() (int, bool) {
	if c := p.cur(); c != '.' && c != ',' {
		return 0, true
	}
	p.i++
	micro, n := 0, 0
	for ; n < 6; n++ {
		c := p.cur()
		if c < '0' || c > '9' {
			break
		}
		micro = micro*10 + int(c-'0')
		p.i++
	}
	if n == 0 {
		return 0, false
	}
	for c := p.cur(); c >= '0' && c <= '9'; c = p.cur() {
		p.i++
	}
	for ; n < 6; n++ {
		micro *= 10
	}
	return micro, true
}

// parseCommon is pendulum's fallback pattern
// ^(YYYY([/:]?MM[/:]?DD)?)?( ?H{1,2}:M{1,2}(:S{1,2})?([.|,]F{1,9})?)?$.
func parseCommon(s string) (time.Time, parsedKind, bool) {
	// Try the longest date first, as the regular expression's greedy
	// optional groups do, then the year alone.
	for _, withMonthDay := range []bool{true, false} {
		p := isoParser{s: s}
		year, ok := p.digits(4)
		if !ok {
			return time.Time{}, parsedNone, false // a time without a date is not a timestamp
		}
		month, day := 1, 1
		if withMonthDay {
			if c := p.cur(); c == '/' || c == ':' {
				p.i++
			}
			if month, ok = p.digits(2); !ok {
				continue
			}
			if c := p.cur(); c == '/' || c == ':' {
				p.i++
			}
			if day, ok = p.digits(2); !ok {
				continue
			}
		}
		if p.end() {
			t, ok := makeTime(year, month, day, 0, 0, 0, 0, 0, false)
			return t, parsedDate, ok
		}
		if hour, minute, second, micro, ok := p.commonTime(); ok {
			t, ok := makeTime(year, month, day, hour, minute, second, micro, 0, false)
			return t, parsedDateTime, ok
		}
	}
	return time.Time{}, parsedNone, false
}

func (p *isoParser) commonTime() (hour, minute, second, micro int, ok bool) {
	if p.cur() == ' ' {
		p.i++
	}
	var n int
	if hour, n = p.upTo2(); n == 0 || p.cur() != ':' {
		return 0, 0, 0, 0, false
	}
	p.i++
	if minute, n = p.upTo2(); n == 0 { // pendulum fails on a missing minute
		return 0, 0, 0, 0, false
	}
	if p.cur() == ':' {
		p.i++
		if second, n = p.upTo2(); n == 0 {
			return 0, 0, 0, 0, false
		}
	}
	if c := p.cur(); c == '.' || c == '|' || c == ',' {
		p.i++
		for n = 0; n < 9 && p.cur() >= '0' && p.cur() <= '9'; n++ {
			if n < 6 {
				micro = micro*10 + int(p.cur()-'0')
			}
			p.i++
		}
		if n == 0 {
			return 0, 0, 0, 0, false
		}
		for ; n < 6; n++ {
			micro *= 10
		}
	}
	return hour, minute, second, micro, p.end()
}

// upTo2 reads one or two digits greedily.
func (p *isoParser) upTo2() (int, int) {
	v, n := 0, 0
	for n < 2 && p.cur() >= '0' && p.cur() <= '9' {
		v = v*10 + int(p.cur()-'0')
		p.i++
		n++
	}
	return v, n
}

// makeTime validates the fields as Python's datetime does and returns the
// instant in UTC. 24:00:00 is midnight of the next day (ISO 8601).
func makeTime(year, month, day, hour, minute, second, micro, offset int, hasOffset bool) (time.Time, bool) {
	if year < 1 || year > 9999 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) {
		return time.Time{}, false
	}
	nextDay := false
	if hour == 24 && minute == 0 && second == 0 && micro == 0 {
		hour, nextDay = 0, true
	}
	if hour > 23 || minute > 59 || second > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, second, micro*1000, time.UTC)
	if nextDay {
		t = t.AddDate(0, 0, 1)
	}
	if hasOffset {
		t = t.Add(-time.Duration(offset) * time.Second)
	}
	return t, true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
