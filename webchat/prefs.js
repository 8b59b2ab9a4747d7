/* Applies the remembered display choices (larger text, high contrast, easy read) to <html>
   before the page is painted. Loaded synchronously from <head>; app.js wires the switches
   and takes the storage keys from window.zhucanPrefs, so they are defined only here. */
(function () {
  'use strict';
  /* class on <html> -> localStorage key */
  var PREFS = {
    'large-text': 'zhucan.largeText',
    'high-contrast': 'zhucan.highContrast',
    'easy-read': 'zhucan.easyRead'
  };
  window.zhucanPrefs = Object.freeze ? Object.freeze(PREFS) : PREFS;
  var root = document.documentElement;
  Object.keys(PREFS).forEach(function (cls) {
    var on = false;
    try { on = window.localStorage.getItem(PREFS[cls]) === '1'; } catch (e) { /* storage blocked */ }
    if (on) { root.classList.add(cls); }
  });
})();
