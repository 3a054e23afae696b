// A histogram bucket bound as it reaches Prometheus's le label. Two spellings exist, and the
// alert thresholds that pick a bucket carry le as a label, matched byte for byte:
//   java:       the exporter's text format (Java's Double.toString): "4096.0" below 10^7,
//               "4.294967296E9" from there on; stored as is by Prometheus 2.x scraping text.
//   normalised: Prometheus 3 (and 2.x scraping protobuf, as with native histograms) rewrites le
//               with Go's shortest %g plus ".0" when that has neither '.' nor 'e':
//               "4096.0", "1.048576e+06", "4.294967296e+09".
{
  local powerOfTwo(bound) =
    assert bound >= 1 && std.pow(2, std.floor(std.log(bound) / std.log(2) + 0.5)) == bound
           : 'bucket bounds are powers of two, not %s' % bound;
    bound,

  // The digits of an integral bound split as d.ddd and its decimal exponent.
  local mantissa(bound) =
    local digits = std.toString(powerOfTwo(bound));
    local fraction = std.rstripChars(digits[1:], '0');
    { lead: digits[0], fraction: fraction, exponent: std.length(digits) - 1 },

  java(bound)::
    if powerOfTwo(bound) < 1e7 then std.toString(bound) + '.0'
    else
      local m = mantissa(bound);
      '%s.%sE%d' % [m.lead, if m.fraction == '' then '0' else m.fraction, m.exponent],

  normalised(bound)::
    if powerOfTwo(bound) < 1e6 then std.toString(bound) + '.0'
    else
      local m = mantissa(bound);
      '%s%se+%02d' % [m.lead, if m.fraction == '' then '' else '.' + m.fraction, m.exponent],

  // Both, once each ("4096.0" is spelt alike).
  spellings(bound):: std.set([self.java(bound), self.normalised(bound)]),
}
