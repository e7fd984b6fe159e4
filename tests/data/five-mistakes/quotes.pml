policy "quotes" version "1.0.0" {
  rule team {
    require tags.team == 'risk'
  }
}
