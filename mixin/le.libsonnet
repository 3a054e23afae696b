// A histogram bucket bound as the exporter writes it in the le label (Java's
// Double.toString): "4096.0" below 10^7, "4.294967296E9" from there on. The alert
// thresholds that pick a bucket carry it as a label, so it must match byte for byte.
{
  of(bound)::
    assert bound >= 1 && std.pow(2, std.floor(std.log(bound) / std.log(2) + 0.5)) == bound
           : 'bucket bounds are powers of two, not %s' % bound;
    local digits = std.toString(bound);
    if bound < 1e7 then digits + '.0'
    else
      local fraction = std.rstripChars(digits[1:], '0');
      '%s.%sE%d' % [digits[0], if fraction == '' then '0' else fraction, std.length(digits) - 1],
}
