// The interaction tools (Cornerstone3D tools: window/level, pan, zoom, stack scrolling with
// prefetch, length, angle, orientation letters), a second bundle entry loaded by reader.js
// only after the first image is on screen: code whose compilation would otherwise stand
// between the page request and the first image. Only what reader.js uses is named here,
// so that the rest of the tools package is left out of the bundle.
import {
  init,
  store,
  addTool,
  ToolGroupManager,
  WindowLevelTool,
  PanTool,
  ZoomTool,
  StackScrollTool,
  LengthTool,
  AngleTool,
  Enums,
  annotation,
  utilities,
} from '@cornerstonejs/tools';

export default {
  init,
  // the viewport is enabled before init(): its mouse, wheel and annotation-layer listeners
  // are added by the same function init() would have run on ELEMENT_ENABLED
  addEnabledElement: store.addEnabledElement,
  addTool,
  ToolGroupManager,
  WindowLevelTool,
  PanTool,
  ZoomTool,
  StackScrollTool,
  LengthTool,
  AngleTool,
  Enums,
  annotation,
  utilities: { stackPrefetch: utilities.stackPrefetch, orientation: utilities.orientation },
};
