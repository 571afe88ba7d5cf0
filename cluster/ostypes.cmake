# Embeds cluster/data/ostypes.json into tb_cluster as a string constant, so
# the binaries need no data files at run time. include() this from
# cluster/CMakeLists.txt after tb_library(tb_cluster ...). Without it,
# ostypes.cpp falls back to reading the JSON from the source tree.
set(tb_ostypes_json ${CMAKE_CURRENT_LIST_DIR}/data/ostypes.json)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${tb_ostypes_json} ${CMAKE_CURRENT_LIST_DIR}/data/ostypes_json.cpp.in)
file(READ ${tb_ostypes_json} TB_OSTYPES_JSON_TEXT)
configure_file(${CMAKE_CURRENT_LIST_DIR}/data/ostypes_json.cpp.in
               ${CMAKE_CURRENT_BINARY_DIR}/ostypes_json.cpp @ONLY)
target_sources(tb_cluster PRIVATE ${CMAKE_CURRENT_BINARY_DIR}/ostypes_json.cpp)
target_compile_definitions(tb_cluster PRIVATE TB_OSTYPES_EMBEDDED=1)
